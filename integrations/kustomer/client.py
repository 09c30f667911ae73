"""The Kustomer REST client: the only code that knows Kustomer's URLs, headers and JSON.

One HTTP layer (``KustomerClient._request``): a ``requests`` session, a timeout on
every call, the shared per-org rate limiter, and every failure turned into a typed
``KustomerError`` (see ``errors.py``). Above it, one thin method per endpoint, with
keyword-only arguments, returning the data classes of ``types.py``.

The client does not sleep through 429s: it records Kustomer's wait in the rate limiter
(pausing the org for every worker) and raises ``KustomerRateLimitedError`` (retryable,
with ``retry_after``) for the caller's task to retry later; only a wait of at most
``inline_retry_max`` seconds (2 s) is waited out once, inline.

``find_or_create`` (module level) joins a look-up and a create that carries a
deterministic ``externalId`` (see ``external_ids.py``) in two explicit steps: look up by
externalId; create if absent; when the create is refused as a duplicate (409/400), look
up again. The executor's actions (conversations/services/actions.py) compose it.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import requests

from core.metrics import kustomer_request_count

from .base_url import REGIONAL_HOSTS, api_root
from .errors import (
    KustomerBadRequestError,
    KustomerConflictError,
    KustomerConnectionError,
    KustomerMalformedResponseError,
    KustomerRateLimitedError,
    KustomerTimeoutError,
    error_from_response,
    reset_seconds_from_header,
)
from .ratelimit import DEFAULT_LIMIT_PER_MINUTE, RateLimiter
from .types import (
    AttachmentUpload,
    Conversation,
    Customer,
    Message,
    Metadata,
    Note,
    OutboundWebhook,
    RateLimitInfo,
    RoutingStatus,
    Team,
    TeamRoutingSettings,
    User,
    WorkSession,
    format_datetime,
)

__all__ = ["KustomerClient", "METADATA_RESOURCES"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# ----------------------------------------------------------------------------- URLs

# Paths below are relative to the API root (``https://<host>/v1``). Values are
# percent-encoded before they are put in.
CUSTOMERS = "/customers"
CUSTOMER = "/customers/{customer_id}"
CUSTOMER_BY_PHONE = "/customers/phone={phone}"
CUSTOMER_BY_EMAIL = "/customers/email={email}"
CUSTOMER_BY_EXTERNAL_ID = "/customers/externalId={external_id}"
CUSTOMER_CONVERSATIONS = "/customers/{customer_id}/conversations"
CUSTOMER_SEARCH = "/customers/search"
CONVERSATION = "/conversations/{conversation_id}"
CONVERSATION_BY_EXTERNAL_ID = "/conversations/externalId={external_id}"
CONVERSATION_MESSAGES = "/conversations/{conversation_id}/messages"
CONVERSATION_NOTES = "/conversations/{conversation_id}/notes"
MESSAGE = "/messages/{message_id}"
ATTACHMENTS = "/attachments"
METADATA = "/metadata/{resource}"
USERS = "/users"
CURRENT_USER = "/users/current"
TEAMS = "/teams"
ROUTING_STATUSES = "/routing/statuses"
USER_WORK_SESSIONS = "/routing/users/{user_id}/work-sessions"
WORK_SESSIONS = "/routing/work-sessions"
WORK_SESSION = "/routing/work-sessions/{work_session_id}"
TEAM_ROUTING_SETTINGS = "/routing/settings/{team_id}"
OUTBOUND_WEBHOOKS = "/outbound-webhooks"
OUTBOUND_WEBHOOK = "/outbound-webhooks/{webhook_id}"

METADATA_RESOURCES = frozenset({"customer", "conversation", "message"})
CONVERSATION_STATUSES = frozenset({"open", "snoozed", "done"})
DIRECTIONS = frozenset({"in", "out"})
DEFAULT_PAGE_SIZE = 100
MAX_PAGES = 1000
SEARCH_MAX_PAGES = 100  # Kustomer's search: "a hard limit of 100 for the maximum number of pages"
_E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")
_USER_AGENT = "cc-kustomer-portal/1.0 (+python-requests)"


def _q(value: Any) -> str:
    s = str(value)
    if not s:
        raise ValueError("empty path value")
    return quote(s, safe="")


def _compact(d: Mapping[str, Any]) -> dict[str, Any]:
    """Drop None values (an omitted field is left alone by Kustomer)."""
    return {k: v for k, v in d.items() if v is not None}


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    v = headers.get(name)
    if v is None:
        return None
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None


class KustomerClient:
    """A Kustomer org's API, as one API key sees it.

    ``base_url``: the org's API base (per-org host or regional host, ``/v1`` optional).
    ``rate_limiter``: the shared per-org budget (None: no client-side limiting).
    ``org_key``: the budget's key; by default the per-org host name, or for a regional
    host a hash of the API key (pass the tenant's Kustomer org id to share one budget
    between several keys of an org). ``timeout``: seconds for every call.
    ``rate_limit_per_minute``: the org's plan budget (default 1,000).
    ``rate_limit_wait``: longest wait for a budget slot before raising
    ``KustomerRateLimitedError`` (``local=True``).
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        rate_limiter: RateLimiter | None = None,
        org_key: str | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        rate_limit_per_minute: int | None = None,
        rate_limit_wait: float = 30.0,
        inline_retry_max: float = 2.0,
        upload_timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        metrics_label: str = "",
    ) -> None:
        if not api_key or not api_key.strip():
            raise ValueError("api_key is required")
        if timeout is None or timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        self.api_root = api_root(base_url)
        parts = urlsplit(self.api_root)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._root_path = parts.path  # "/v1" or "/prefix/v1"
        self.__api_key = api_key.strip()
        self.rate_limiter = rate_limiter
        host = (parts.hostname or "").lower()
        if org_key:
            self.org_key = org_key
        elif host in REGIONAL_HOSTS:
            self.org_key = "key:" + hashlib.sha256(self.__api_key.encode()).hexdigest()[:20]
        else:
            self.org_key = f"host:{parts.netloc.lower()}"
        self.timeout = float(timeout)
        self.upload_timeout = float(upload_timeout)
        self.rate_limit_per_minute = int(rate_limit_per_minute or DEFAULT_LIMIT_PER_MINUTE)
        self.rate_limit_wait = rate_limit_wait
        self.inline_retry_max = inline_retry_max
        self._sleep = sleep
        #: Whose requests these are in the metrics (the tenant's slug).
        self.metrics_label = metrics_label
        self._own_session = session is None
        self.session = session or requests.Session()
        #: Kustomer's x-ratelimit-* headers of the last answer.
        self.last_rate_limit: RateLimitInfo | None = None

    def __repr__(self) -> str:  # never the key
        return f"<KustomerClient {self.api_root} org_key={self.org_key!r}>"

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> KustomerClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ========================================================================= HTTP
    def _headers(self, *, body: bool) -> dict[str, str]:
        h = {
            "Authorization": f"Bearer {self.__api_key}",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        if body:
            h["Content-Type"] = "application/json"
        return h

    def _url(self, path: str) -> str:
        """Absolute URL of an API path, or of a ``links.next`` Kustomer gave us."""
        if "://" in path:
            target = urlsplit(path)
            if f"{target.scheme}://{target.netloc}".lower() != self._origin.lower():
                # never send the API key to another host
                raise KustomerMalformedResponseError(
                    f"link to another host refused: {target.scheme}://{target.netloc}"
                )
            return path
        if path.startswith(self._root_path + "/") or path == self._root_path:
            return self._origin + path  # "/v1/customers?page=2"
        if path.startswith("/"):
            return self.api_root + path  # "/customers" relative to the API root
        return urljoin(self.api_root + "/", path)

    def _observe(self, response: requests.Response) -> None:
        h = response.headers
        info = RateLimitInfo(
            limit=_int_header(h, "x-ratelimit-limit"),
            remaining=_int_header(h, "x-ratelimit-remaining"),
            reset_seconds=reset_seconds_from_header(h.get("x-ratelimit-reset")),
        )
        if info.limit is None and info.remaining is None and info.reset_seconds is None:
            return
        self.last_rate_limit = info
        if self.rate_limiter is not None:
            self.rate_limiter.observe(
                self.org_key, remaining=info.remaining, reset_seconds=info.reset_seconds,
                limit=info.limit,
            )

    def _send(self, method: str, url: str, *, log_path: str, display_path: str,
              params: Mapping[str, Any] | None, json_body: Any) -> requests.Response:
        if self.rate_limiter is not None:
            self.rate_limiter.acquire(
                self.org_key, limit_per_minute=self.rate_limit_per_minute, timeout=self.rate_limit_wait
            )
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json_body,
                headers=self._headers(body=json_body is not None),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            kustomer_request_count(tenant=self.metrics_label, status=None, reason="timeout")
            logger.info("kustomer %s %s timed out after %.1fs", method, log_path, self.timeout)
            raise KustomerTimeoutError(
                f"no answer within {self.timeout:.1f}s", method=method, path=display_path
            ) from _scrub(exc)
        except requests.ConnectionError as exc:
            kustomer_request_count(tenant=self.metrics_label, status=None, reason="connection")
            logger.info("kustomer %s %s connection failed: %s", method, log_path, type(exc).__name__)
            raise KustomerConnectionError(
                f"connection failed: {type(exc).__name__}", method=method, path=display_path
            ) from _scrub(exc)
        except requests.RequestException as exc:
            kustomer_request_count(tenant=self.metrics_label, status=None, reason="connection")
            raise KustomerConnectionError(
                f"request failed: {type(exc).__name__}", method=method, path=display_path
            ) from _scrub(exc)
        logger.debug(
            "kustomer %s %s -> %s in %.0f ms", method, log_path, response.status_code,
            (time.monotonic() - started) * 1000,
        )
        # Every request is counted here, and only here (core/metrics.py).
        kustomer_request_count(tenant=self.metrics_label, status=response.status_code)
        self._observe(response)
        return response

    def _request(
        self,
        method: str,
        template: str,
        *,
        path_params: Mapping[str, Any] | None = None,
        url: str | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        none_on_404: bool = False,
    ) -> Any:
        """Send one request (``template`` formatted with ``path_params``, or the absolute
        ``url`` of a next-page link) and return the parsed JSON (None for an empty
        answer, or for a 404 when ``none_on_404``)."""
        if url is None:
            path = template.format(**{k: _q(v) for k, v in (path_params or {}).items()})
            url = self._url(path)
        display_path = urlsplit(url).path
        attempt = 0
        while True:
            attempt += 1
            response = self._send(method, url, log_path=template, display_path=display_path,
                                  params=params, json_body=json_body)
            status = response.status_code
            if status == 429:
                err = error_from_response(
                    status=status, headers=response.headers, text=response.text, method=method,
                    path=display_path, secret=self.__api_key,
                )
                assert isinstance(err, KustomerRateLimitedError)
                logger.warning("kustomer 429 on %s %s; org paused %.1fs", method, template, err.retry_after)
                if self.rate_limiter is not None:
                    self.rate_limiter.pause(self.org_key, err.retry_after)
                if attempt == 1 and err.retry_after <= self.inline_retry_max:
                    if self.rate_limiter is None:
                        self._sleep(err.retry_after)
                    # with a limiter, acquire() itself waits out the pause just recorded
                    continue
                raise err
            if none_on_404 and status == 404:
                return None
            if status >= 300:
                raise error_from_response(
                    status=status, headers=response.headers, text=response.text, method=method,
                    path=display_path, secret=self.__api_key,
                )
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise KustomerMalformedResponseError(
                    f"answer is not JSON: {response.text[:200]!r}", status, None, response.text,
                    method=method, path=display_path,
                ) from None

    # ------------------------------------------------------------------ shapes
    @staticmethod
    def _data(doc: Any, *, method: str, template: str) -> Mapping[str, Any]:
        data = doc.get("data") if isinstance(doc, Mapping) else None
        if not isinstance(data, Mapping) or data.get("id") in (None, ""):
            raise KustomerMalformedResponseError(
                "answer has no data object with an id", None, None, doc, method=method, path=template
            )
        return data

    @staticmethod
    def _build(factory: Callable[..., T], *args: Any, method: str, template: str, doc: Any = None,
               **kwargs: Any) -> T:
        try:
            return factory(*args, **kwargs)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise KustomerMalformedResponseError(
                f"unexpected answer shape: {type(exc).__name__}: {exc}", None, None,
                doc if doc is not None else (args[0] if args else None), method=method, path=template,
            ) from None

    def _one(self, factory: Callable[[Mapping[str, Any]], T], method: str, template: str, *,
             none_on_404: bool = False, **kwargs: Any) -> T | None:
        doc = self._request(method, template, none_on_404=none_on_404, **kwargs)
        if doc is None and none_on_404:
            return None
        data = self._data(doc, method=method, template=template)
        return self._build(factory, data, method=method, template=template)

    def _pages(self, template: str, *, path_params: Mapping[str, Any] | None = None,
               params: Mapping[str, Any] | None = None, page_size: int | None = DEFAULT_PAGE_SIZE,
               max_pages: int | None = None, method: str = "GET",
               json_body: Any = None) -> Iterator[Mapping[str, Any]]:
        """Every resource object of a list, following ``links.next`` until null (a POST
        list, i.e. search, sends its body again with every page)."""
        query = dict(params or {})
        if page_size is not None:
            query["pageSize"] = page_size
        limit = MAX_PAGES if max_pages is None else max_pages
        url: str | None = None
        seen: set[str] = set()
        pages = 0
        while pages < limit:
            doc = self._request(method, template, path_params=path_params, url=url,
                                params=query if url is None else None, json_body=json_body)
            pages += 1
            data = doc.get("data") if isinstance(doc, Mapping) else None
            if not isinstance(data, list):
                raise KustomerMalformedResponseError(
                    "list answer has no data array", None, None, doc, method=method, path=template
                )
            for item in data:
                if not isinstance(item, Mapping):
                    raise KustomerMalformedResponseError(
                        "list item is not an object", None, None, doc, method=method, path=template
                    )
                yield item
            links = doc.get("links") if isinstance(doc.get("links"), Mapping) else {}
            nxt = links.get("next")
            if not nxt or not data:
                return
            if not isinstance(nxt, str):
                raise KustomerMalformedResponseError(
                    "links.next is not a string", None, None, doc, method=method, path=template
                )
            next_url = self._url(nxt)
            if next_url in seen:
                logger.warning("kustomer pagination loop on %s; stopping", template)
                return
            seen.add(next_url)
            url = next_url

    def _list(self, factory: Callable[[Mapping[str, Any]], T], template: str, **kwargs: Any) -> list[T]:
        return [self._build(factory, item, method="GET", template=template)
                for item in self._pages(template, **kwargs)]

    # ========================================================================= users
    def get_current_user(self) -> User:
        """``GET /v1/users/current``: works with any valid key; use it to verify a
        connection (401 → ``KustomerAuthError``)."""
        return self._one(User.from_resource, "GET", CURRENT_USER)  # type: ignore[return-value]

    def list_users(self, *, email: str | None = None, page_size: int = DEFAULT_PAGE_SIZE) -> list[User]:
        """``GET /v1/users[?email=...]``."""
        return self._list(User.from_resource, USERS, params=_compact({"email": email}), page_size=page_size)

    def users_with_email(self, email: str) -> list[User]:
        """The org's users whose email is ``email`` (case-insensitive): Kustomer's filter
        may match more loosely, so only exact matches are kept (R-S5 links by email)."""
        wanted = (email or "").strip().lower()
        return [u for u in self.list_users(email=wanted) if (u.email or "").lower() == wanted]

    # ========================================================================= teams
    def list_teams(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> list[Team]:
        return self._list(Team.from_resource, TEAMS, page_size=page_size)

    # ========================================================================= routing
    def list_routing_statuses(self) -> list[RoutingStatus]:
        """``GET /v1/routing/statuses``: the org's user statuses (name, statusType)."""
        return self._list(RoutingStatus.from_resource, ROUTING_STATUSES)

    def get_active_work_session(self, *, user_id: str, max_pages: int | None = 5) -> WorkSession | None:
        """The user's live work session (``active`` / no ``signedOutAt``), or None."""
        for item in self._pages(USER_WORK_SESSIONS, path_params={"user_id": user_id}, max_pages=max_pages):
            ws = self._build(WorkSession.from_resource, item, method="GET", template=USER_WORK_SESSIONS)
            if ws.active or (ws.active is None and ws.signed_out_at is None):
                return ws
        return None

    def iter_active_work_sessions(self, *, page_size: int = DEFAULT_PAGE_SIZE,
                                  max_pages: int | None = None) -> Iterator[WorkSession]:
        """``GET /v1/routing/work-sessions?active=true``, page by page."""
        for item in self._pages(WORK_SESSIONS, params={"active": "true"}, page_size=page_size,
                                max_pages=max_pages):
            yield self._build(WorkSession.from_resource, item, method="GET", template=WORK_SESSIONS)

    def update_work_session_status(self, *, work_session_id: str, status_id: str) -> WorkSession:
        """``PUT /v1/routing/work-sessions/{id}`` ``{"status": <routing status id>}``
        (the body is unconfirmed in Kustomer's docs; this sends the status relationship id)."""
        return self._one(  # type: ignore[return-value]
            WorkSession.from_resource, "PUT", WORK_SESSION,
            path_params={"work_session_id": work_session_id}, json_body={"status": status_id},
        )

    def get_team_routing_settings(self, *, team_id: str) -> TeamRoutingSettings:
        """``GET /v1/routing/settings/{team id}``."""
        return self._one(  # type: ignore[return-value]
            TeamRoutingSettings.from_resource, "GET", TEAM_ROUTING_SETTINGS, path_params={"team_id": team_id}
        )

    # ========================================================================= customers
    @staticmethod
    def _emails(emails: Sequence[str | Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
        if emails is None:
            return None
        return [dict(e) if isinstance(e, Mapping) else {"type": "other", "email": e} for e in emails]

    @staticmethod
    def _phones(phones: Sequence[str | Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
        if phones is None:
            return None
        return [dict(p) if isinstance(p, Mapping) else {"type": "other", "phone": p} for p in phones]

    def create_customer(
        self,
        *,
        name: str | None = None,
        external_id: str | None = None,
        emails: Sequence[str | Mapping[str, Any]] | None = None,
        phones: Sequence[str | Mapping[str, Any]] | None = None,
        custom: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Customer:
        """``POST /v1/customers``. ``emails``/``phones``: plain values (sent as
        ``{"type": "other", ...}``) or Kustomer's objects. ``extra``: other attributes."""
        body = _compact({
            "name": name,
            "externalId": external_id,
            "emails": self._emails(emails),
            "phones": self._phones(phones),
            "custom": dict(custom) if custom is not None else None,
        })
        body.update(extra or {})
        return self._one(Customer.from_resource, "POST", CUSTOMERS, json_body=body)  # type: ignore[return-value]

    def get_customer(self, *, customer_id: str) -> Customer:
        return self._one(Customer.from_resource, "GET", CUSTOMER, path_params={"customer_id": customer_id})  # type: ignore[return-value]

    def update_customer(
        self,
        *,
        customer_id: str,
        name: str | None = None,
        external_id: str | None = None,
        emails: Sequence[str | Mapping[str, Any]] | None = None,
        phones: Sequence[str | Mapping[str, Any]] | None = None,
        custom: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Customer:
        """``PUT /v1/customers/{id}``: merges the given fields (never ``?replace=true``)."""
        body = _compact({
            "name": name,
            "externalId": external_id,
            "emails": self._emails(emails),
            "phones": self._phones(phones),
            "custom": dict(custom) if custom is not None else None,
        })
        body.update(extra or {})
        return self._one(  # type: ignore[return-value]
            Customer.from_resource, "PUT", CUSTOMER, path_params={"customer_id": customer_id}, json_body=body
        )

    def get_customer_by_phone(self, *, phone: str) -> Customer | None:
        """``GET /v1/customers/phone={E.164}``; None when Kustomer knows no such phone."""
        phone = re.sub(r"[\s\-().]", "", phone or "")
        if not _E164_RE.match(phone):
            raise ValueError("phone must be E.164, e.g. +14155550100")
        return self._one(Customer.from_resource, "GET", CUSTOMER_BY_PHONE, path_params={"phone": phone},
                         none_on_404=True)

    def search_customers_by_phone(self, *, phone: str, limit: int = 10) -> list[Customer]:
        """Every customer holding this phone (``POST /v1/customers/search``, one page):
        a number may be shared, and R-O1 never guesses between them."""
        items = self.search(query_context="customer", criteria=[{"customer_phone": {"equals": phone}}],
                            page_size=limit, max_pages=1)
        return [self._build(Customer.from_resource, item, method="POST", template=CUSTOMER_SEARCH) for item in items]

    def get_customer_by_email(self, *, email: str) -> Customer | None:
        """``GET /v1/customers/email={email}``; None on 404."""
        return self._one(Customer.from_resource, "GET", CUSTOMER_BY_EMAIL,
                         path_params={"email": email.strip()}, none_on_404=True)

    def get_customer_by_external_id(self, *, external_id: str) -> Customer | None:
        """``GET /v1/customers/externalId={id}``; None on 404."""
        return self._one(Customer.from_resource, "GET", CUSTOMER_BY_EXTERNAL_ID,
                         path_params={"external_id": external_id}, none_on_404=True)

    # ========================================================================= conversations
    def iter_customer_conversations(self, *, customer_id: str, page_size: int = DEFAULT_PAGE_SIZE,
                                    max_pages: int | None = None) -> Iterator[Conversation]:
        """``GET /v1/customers/{id}/conversations``, following ``links.next``."""
        for item in self._pages(CUSTOMER_CONVERSATIONS, path_params={"customer_id": customer_id},
                                page_size=page_size, max_pages=max_pages):
            yield self._build(Conversation.from_resource, item, method="GET", template=CUSTOMER_CONVERSATIONS)

    def list_customer_conversations(self, *, customer_id: str, page_size: int = DEFAULT_PAGE_SIZE,
                                    max_pages: int | None = None) -> list[Conversation]:
        return list(self.iter_customer_conversations(customer_id=customer_id, page_size=page_size,
                                                     max_pages=max_pages))

    def search(self, *, query_context: str, criteria: Sequence[Mapping[str, Any]] = (),
               sort: Sequence[Mapping[str, str]] = (), page_size: int = DEFAULT_PAGE_SIZE,
               max_pages: int | None = None) -> Iterator[Mapping[str, Any]]:
        """``POST /v1/customers/search`` (any ``queryContext``): the matching resource
        objects, page after page, at most Kustomer's 100 pages."""
        body: dict[str, Any] = {"queryContext": query_context}
        if criteria:
            body["and"] = [dict(c) for c in criteria]
        if sort:
            body["sort"] = [dict(s) for s in sort]
        limit = SEARCH_MAX_PAGES if max_pages is None else min(max_pages, SEARCH_MAX_PAGES)
        yield from self._pages(CUSTOMER_SEARCH, method="POST", json_body=body, page_size=page_size,
                               max_pages=limit)

    def search_customer_conversations(self, *, customer_id: str, statuses: Sequence[str] | None = None,
                                      page_size: int = DEFAULT_PAGE_SIZE,
                                      max_pages: int | None = None) -> Iterator[Conversation]:
        """The customer's conversations (optionally only those in ``statuses``) by
        Kustomer's search, the most recently updated first."""
        criteria: list[dict[str, Any]] = [{"conversation_customer_id": {"equals": customer_id}}]
        if statuses:
            criteria.append({"conversation_status": {"in": list(statuses)}})
        for item in self.search(query_context="conversation", criteria=criteria,
                                sort=[{"conversation_updated_at": "desc"}], page_size=page_size,
                                max_pages=max_pages):
            yield self._build(Conversation.from_resource, item, method="POST", template=CUSTOMER_SEARCH)

    @staticmethod
    def _conversation_body(
        *, name, status, direction, external_id, assigned_users, assigned_teams, priority, tags,
        custom, queue, extra,
    ) -> dict[str, Any]:
        if status is not None and status not in CONVERSATION_STATUSES:
            raise ValueError(f"status must be one of {sorted(CONVERSATION_STATUSES)}")
        if direction is not None and direction not in DIRECTIONS:
            raise ValueError("direction must be 'in' or 'out'")
        if priority is not None and not 1 <= priority <= 5:
            raise ValueError("priority must be 1..5")
        for label, ids in (("assigned_users", assigned_users), ("assigned_teams", assigned_teams)):
            if ids is not None and len(ids) > 10:
                raise ValueError(f"{label}: at most 10")
        body = _compact({
            "name": name,
            "status": status,
            "direction": direction,
            "externalId": external_id,
            "assignedUsers": list(assigned_users) if assigned_users is not None else None,
            "assignedTeams": list(assigned_teams) if assigned_teams is not None else None,
            "priority": priority,
            "tags": list(tags) if tags is not None else None,
            "custom": dict(custom) if custom is not None else None,
            "queue": dict(queue) if queue is not None else None,
        })
        body.update(extra or {})
        return body

    def create_conversation(
        self,
        *,
        customer_id: str,
        name: str | None = None,
        status: str | None = None,
        direction: str | None = None,
        external_id: str | None = None,
        assigned_users: Sequence[str] | None = None,
        assigned_teams: Sequence[str] | None = None,
        priority: int | None = None,
        tags: Sequence[str] | None = None,
        custom: Mapping[str, Any] | None = None,
        queue: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Conversation:
        """``POST /v1/customers/{id}/conversations``. ``queue``: e.g. ``{"external": "..."}``."""
        body = self._conversation_body(
            name=name, status=status, direction=direction, external_id=external_id,
            assigned_users=assigned_users, assigned_teams=assigned_teams, priority=priority, tags=tags,
            custom=custom, queue=queue, extra=extra,
        )
        return self._one(  # type: ignore[return-value]
            Conversation.from_resource, "POST", CUSTOMER_CONVERSATIONS,
            path_params={"customer_id": customer_id}, json_body=body,
        )

    def get_conversation_by_external_id(self, *, external_id: str) -> Conversation | None:
        """``GET /v1/conversations/externalId={id}``; None on 404."""
        return self._one(Conversation.from_resource, "GET", CONVERSATION_BY_EXTERNAL_ID,
                         path_params={"external_id": external_id}, none_on_404=True)

    def update_conversation(
        self,
        *,
        conversation_id: str,
        name: str | None = None,
        status: str | None = None,
        assigned_users: Sequence[str] | None = None,
        assigned_teams: Sequence[str] | None = None,
        priority: int | None = None,
        tags: Sequence[str] | None = None,
        custom: Mapping[str, Any] | None = None,
        queue: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Conversation:
        """``PUT /v1/conversations/{id}`` (merge) with the given fields only."""
        body = self._conversation_body(
            name=name, status=status, direction=None, external_id=None, assigned_users=assigned_users,
            assigned_teams=assigned_teams, priority=priority, tags=tags, custom=custom, queue=queue,
            extra=extra,
        )
        return self._one(  # type: ignore[return-value]
            Conversation.from_resource, "PUT", CONVERSATION,
            path_params={"conversation_id": conversation_id}, json_body=body,
        )

    # ========================================================================= messages
    def create_message(
        self,
        *,
        conversation_id: str,
        channel: str,
        app: str,
        direction: str | None = None,
        preview: str | None = None,
        external_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
        custom: Mapping[str, Any] | None = None,
        attachments: Sequence[str | AttachmentUpload | Mapping[str, Any]] | None = None,
        queue: Mapping[str, Any] | None = None,
        sent_at: datetime | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Message:
        """``POST /v1/conversations/{id}/messages``: records a message on the timeline
        (sends nothing to the customer). ``channel`` (voice, chat, sms, ...) and ``app``
        are required by Kustomer. ``attachments``: attachment ids, ``AttachmentUpload``s
        or ``{_id, name, contentType, contentLength}`` objects. ``sent_at``: when the
        message happened (``sentAt``, any key may set it; the timeline shows it)."""
        if direction is not None and direction not in DIRECTIONS:
            raise ValueError("direction must be 'in' or 'out'")
        if not channel or not app:
            raise ValueError("channel and app are required")
        body = _compact({
            "channel": channel,
            "app": app,
            "direction": direction,
            "preview": preview,
            "externalId": external_id,
            "meta": dict(meta) if meta is not None else None,
            "custom": dict(custom) if custom is not None else None,
            "attachments": _attachment_items(attachments, ids_allowed=True),
            "queue": dict(queue) if queue is not None else None,
            "sentAt": format_datetime(sent_at) if sent_at is not None else None,
        })
        body.update(extra or {})
        return self._one(  # type: ignore[return-value]
            Message.from_resource, "POST", CONVERSATION_MESSAGES,
            path_params={"conversation_id": conversation_id}, json_body=body,
        )

    def iter_conversation_messages(self, *, conversation_id: str, page_size: int = DEFAULT_PAGE_SIZE,
                                   max_pages: int | None = None) -> Iterator[Message]:
        for item in self._pages(CONVERSATION_MESSAGES, path_params={"conversation_id": conversation_id},
                                page_size=page_size, max_pages=max_pages):
            yield self._build(Message.from_resource, item, method="GET", template=CONVERSATION_MESSAGES)

    def get_message(self, *, message_id: str) -> Message:
        """``GET /v1/messages/{id}``."""
        return self._one(Message.from_resource, "GET", MESSAGE, path_params={"message_id": message_id})  # type: ignore[return-value]

    def update_message(self, *, message_id: str, custom: Mapping[str, Any]) -> Message:
        """``PATCH /v1/messages/{id}`` with ``custom`` only: Kustomer merges the custom
        attributes key by key, so writing the same value again changes nothing."""
        return self._one(  # type: ignore[return-value]
            Message.from_resource, "PATCH", MESSAGE, path_params={"message_id": message_id},
            json_body={"custom": dict(custom)},
        )

    def budget_use(self) -> tuple[int, int, float]:
        """The org's shared budget as the rate limiter sees it now: requests taken in the
        last window, the budget of a window (after the limiter's safety margin) and the
        seconds the org is paused for after a 429. (0, budget, 0) without a limiter."""
        limiter = self.rate_limiter
        if limiter is None:
            return 0, self.rate_limit_per_minute, 0.0
        budget = max(1, int(self.rate_limit_per_minute * limiter.safety))
        return limiter.used_in_window(self.org_key), budget, limiter.paused_for(self.org_key)

    def find_conversation_message(self, *, conversation_id: str, external_id: str) -> Message | None:
        """The conversation's message with ``external_id`` (scans its messages), or None."""
        return _with_external_id(self.iter_conversation_messages(conversation_id=conversation_id), external_id)

    # ========================================================================= notes
    def create_note(
        self,
        *,
        conversation_id: str,
        body: str,
        external_id: str | None = None,
        attachments: Sequence[AttachmentUpload | Mapping[str, Any]] | None = None,
        created_at: datetime | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Note:
        """``POST /v1/conversations/{id}/notes``. ``attachments``: ``AttachmentUpload``s
        or ``{_id, name, contentType, contentLength}`` objects (notes take no bare ids).
        ``created_at``: when the note's event happened (``createdAt``, the only time a
        note has; Kustomer keeps it only from an ``org.admin`` key, else stamps now)."""
        payload = _compact({
            "body": body,
            "externalId": external_id,
            "attachments": _attachment_items(attachments, ids_allowed=False),
            "createdAt": format_datetime(created_at) if created_at is not None else None,
        })
        payload.update(extra or {})
        return self._one(  # type: ignore[return-value]
            Note.from_resource, "POST", CONVERSATION_NOTES,
            path_params={"conversation_id": conversation_id}, json_body=payload,
        )

    def iter_conversation_notes(self, *, conversation_id: str, page_size: int = DEFAULT_PAGE_SIZE,
                                max_pages: int | None = None) -> Iterator[Note]:
        for item in self._pages(CONVERSATION_NOTES, path_params={"conversation_id": conversation_id},
                                page_size=page_size, max_pages=max_pages):
            yield self._build(Note.from_resource, item, method="GET", template=CONVERSATION_NOTES)

    def find_conversation_note(self, *, conversation_id: str, external_id: str) -> Note | None:
        """The conversation's note with ``external_id`` (scans its notes), or None."""
        return _with_external_id(self.iter_conversation_notes(conversation_id=conversation_id), external_id)

    # ========================================================================= attachments
    def create_attachment(self, *, name: str, content_type: str, content_length: int) -> AttachmentUpload:
        """``POST /v1/attachments``: the attachment id and its presigned upload."""
        if content_length < 0:
            raise ValueError("content_length must be >= 0")
        doc = self._request("POST", ATTACHMENTS, json_body={
            "name": name, "contentType": content_type, "contentLength": content_length,
        })
        self._data(doc, method="POST", template=ATTACHMENTS)
        return self._build(AttachmentUpload.from_document, doc, method="POST", template=ATTACHMENTS)

    def upload_attachment(self, *, upload: AttachmentUpload, content: bytes | IO[bytes],
                          filename: str | None = None, content_type: str | None = None) -> None:
        """The presigned POST: every field of ``upload.upload_fields`` in order, then the
        file last as ``file``. Goes to the storage host, so no API key and no budget."""
        fields = list(upload.upload_fields.items())
        files = {"file": (filename or upload.name or "file", content,
                          content_type or upload.content_type or "application/octet-stream")}
        display = urlsplit(upload.upload_url).netloc
        try:
            response = self.session.post(
                upload.upload_url, data=fields, files=files, timeout=self.upload_timeout,
                headers={"User-Agent": _USER_AGENT}, allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise KustomerTimeoutError(
                f"attachment upload: no answer within {self.upload_timeout:.1f}s", method="POST", path=display
            ) from _scrub(exc)
        except requests.RequestException as exc:
            raise KustomerConnectionError(
                f"attachment upload failed: {type(exc).__name__}", method="POST", path=display
            ) from _scrub(exc)
        if response.status_code >= 300:
            raise error_from_response(status=response.status_code, headers=response.headers,
                                      text=response.text, method="POST", path=display,
                                      secret=self.__api_key)

    def upload_file(self, *, name: str, content_type: str, content: bytes) -> AttachmentUpload:
        """Create an attachment and upload ``content``; the result goes in a message's or
        note's ``attachments`` as is."""
        upload = self.create_attachment(name=name, content_type=content_type, content_length=len(content))
        self.upload_attachment(upload=upload, content=content, filename=name, content_type=content_type)
        return upload

    # ========================================================================= metadata
    def get_metadata(self, *, resource: str) -> Metadata:
        """``GET /v1/metadata/{customer|conversation|message}``."""
        self._check_resource(resource)
        return self._one(  # type: ignore[return-value]
            lambda r: Metadata.from_resource(r, resource=resource), "GET", METADATA,
            path_params={"resource": resource},
        )

    def put_metadata(self, *, resource: str, properties: Mapping[str, Mapping[str, Any]]) -> Metadata:
        """``PUT /v1/metadata/{resource}`` ``{"properties": {...}}``: defines custom
        attributes, e.g. ``{"queueNameStr": {"displayName": "Queue Name"}}``."""
        self._check_resource(resource)
        return self._one(  # type: ignore[return-value]
            lambda r: Metadata.from_resource(r, resource=resource), "PUT", METADATA,
            path_params={"resource": resource},
            json_body={"properties": {k: dict(v) for k, v in properties.items()}},
        )

    @staticmethod
    def _check_resource(resource: str) -> None:
        if resource not in METADATA_RESOURCES:
            raise ValueError(f"resource must be one of {sorted(METADATA_RESOURCES)}")

    # ========================================================================= webhooks
    def create_outbound_webhook(
        self,
        *,
        name: str,
        url: str,
        events: Sequence[str],
        headers: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
    ) -> OutboundWebhook:
        """``POST /v1/outbound-webhooks``; the answer's ``token`` (HMAC key of the
        deliveries' signature) is in ``.token``: store it, it is not shown again."""
        if isinstance(headers, Mapping):
            header_list = [{"name": k, "value": v} for k, v in headers.items()]
        else:
            header_list = [dict(h) for h in headers or []]
        body = {"name": name, "url": url, "events": list(events), "headers": header_list}
        doc = self._request("POST", OUTBOUND_WEBHOOKS, json_body=body)
        self._data(doc, method="POST", template=OUTBOUND_WEBHOOKS)
        return self._build(OutboundWebhook.from_document, doc, method="POST", template=OUTBOUND_WEBHOOKS)

    def list_outbound_webhooks(self) -> list[OutboundWebhook]:
        return self._list(OutboundWebhook.from_resource, OUTBOUND_WEBHOOKS)

    def delete_outbound_webhook(self, *, webhook_id: str) -> None:
        self._request("DELETE", OUTBOUND_WEBHOOK, path_params={"webhook_id": webhook_id})


def _attachment_items(items: Sequence[Any] | None, *, ids_allowed: bool) -> list[Any] | None:
    """A message's or note's ``attachments``: objects, or bare ids where Kustomer takes
    them (messages only). Kustomer accepts one form per list, so a mixed list is sent
    as bare ids."""
    if items is None:
        return None
    out: list[Any] = []
    for item in items:
        if isinstance(item, AttachmentUpload):
            out.append(item.reference())
        elif isinstance(item, Mapping):
            out.append(dict(item))
        elif isinstance(item, str):
            if not ids_allowed:
                raise ValueError("note attachments need objects: pass the AttachmentUpload from upload_file()")
            out.append(item)
        else:
            raise TypeError(f"unsupported attachment item: {type(item).__name__}")
    if any(isinstance(i, str) for i in out) and any(isinstance(i, dict) for i in out):
        out = [i["_id"] if isinstance(i, dict) else i for i in out]  # one form per list: ids
    return out


def _with_external_id(records: Iterable[T], external_id: str) -> T | None:
    return next((record for record in records if getattr(record, "external_id", None) == external_id), None)


def find_or_create(find: Callable[[], T | None], create: Callable[[], T], *, look_first: bool = True) -> tuple[T, bool]:
    """Two explicit steps that make a create safe to retry: look the record up by its
    externalId, create it only when absent. A create refused as a duplicate (409, or 400:
    Kustomer's status for duplicates is unconfirmed) was made by an earlier try whose
    answer was lost: look it up again; if it is still not there, the refusal stands.
    `look_first=False` skips the first look-up when the caller knows no earlier try
    was sent (it costs a request, or a scan of a conversation's timeline)."""
    found = find() if look_first else None
    if found is not None:
        return found, False
    try:
        return create(), True
    except (KustomerConflictError, KustomerBadRequestError):
        found = find()
        if found is not None:
            return found, False
        raise


def _scrub(exc: BaseException) -> BaseException:
    """The transport exception as a cause, without the request it references (whose
    headers hold the API key) so no traceback formatter can reach them."""
    try:
        if hasattr(exc, "request"):
            exc.request = None  # type: ignore[attr-defined]
        if hasattr(exc, "response"):
            exc.response = None  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - read-only attributes in some versions
        pass
    return exc
