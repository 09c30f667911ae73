"""What a Korean-speaking admin reads is Korean: every text of the templates is marked
for translation, every message a service or a page raises is a gettext text, the newer
pages (R-O1 Needs a customer, R-O3 backfill, R-O4 export/import/dry run, sync settings,
call logging policies) and the adapter show no English sentence, a service's error
comes back in Korean next to its field, and the e-mails (invitation, password reset,
R-O5 new-status alert) reach each person in the language they chose (UserLanguage).
The catalogue itself is checked by tests/portal/test_translations.py."""
from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from conversations.models import Event
from customfields.rules import CATALOGUE
from kustomer_sandbox.store import add_status
from portal.models import UserLanguage
from tests.statusmapping.conftest import connected  # noqa: F401 (fixture)
from tests.statusmapping.test_sandbox_sync import ready, run_on_commit  # noqa: F401 (fixtures)
from tests.tenants.factories import UserFactory

BASE = Path(settings.BASE_DIR)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Words that stay as they are in Korean: names of products, protocols and formats, and
# data (the seeded names below, the contact center's default CC statuses).
# The catalogue's fields keep their Kustomer attribute names (customfields/rules.py).
CATALOGUE_NAMES = "|".join(re.escape(f.display_name) for f in CATALOGUE)
KEPT = re.compile(
    CATALOGUE_NAMES + r"|Kustomer|CCAI Platform|Contact Center \(CCAI Platform\)|CC|API|JSON|UTC|E\.164|URL|HTTP|HMAC|SHA-256|ISO|"
    r"GET|PUT|POST|PATCH|DELETE|English|한국어|Acme Support|Ann Lee|Andy Lee|Available|Unavailable|Break|Offline|"
    r"Busy|Away|Email|Lunch|Coaching|Training|Meeting|In-chat|On call|Wrap-up|call\.answered|session\.ended|\S+@\S+|/\S*|\{\w+\}|"
    r"[a-z_]+\.[a-z_.]+|[a-z]+:[a-z]+|test key|“Contact center”|"
    # The audit log's details are the record's own words (its action is translated).
    r"role (?:admin|viewer|support)(?: → (?:admin|viewer|support))?")
ENGLISH_PHRASE = re.compile(r"[A-Za-z][a-z']+(?:[ ,]+[A-Za-z][a-z']+){1,}")


class _VisibleText(HTMLParser):
    """The text a person sees or hears: text nodes outside <script>/<style> (a
    <template>'s too: adapter.js shows those) and the title/aria-label/placeholder/alt
    attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in ("title", "aria-label", "placeholder", "alt") and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.texts.append(" ".join(data.split()))


def english_sentences(html: str) -> list[str]:
    """Visible texts that still hold three English words in a row, once the kept words
    (product names, data the test seeded) are taken out."""
    parser = _VisibleText()
    parser.feed(html)
    return [text for text in parser.texts if ENGLISH_PHRASE.search(KEPT.sub(" ", text))]


# --- the source -------------------------------------------------------------------------

TEMPLATE_TAGS = re.compile(r"{%\s*(?:blocktrans(?:late)?)\b.*?{%\s*endblocktrans(?:late)?\s*%}|{%\s*comment\s*%}.*?"
                           r"{%\s*endcomment\s*%}|{#.*?#}|{%.*?%}|{{.*?}}", re.S)
# Text of templates that is not language: an API path shown as code, an e-mail example.
NOT_LANGUAGE = re.compile(r"(GET|PUT)(\|PUT)? /api/v1/[\w/-]+|you@company\.com|\bUTC\b|\+1 415 555 0123")


@pytest.mark.unit
def test_every_visible_text_of_the_templates_is_marked_for_translation():
    """A text node or a title/aria-label/placeholder of a page or e-mail template outside
    {% trans %}/{% blocktrans %} would reach a Korean reader in English."""
    untranslated = []
    for path in sorted((BASE / "templates").rglob("*.*")):
        source = re.sub(r"<script.*?</script>|<style.*?</style>", "", path.read_text(), flags=re.S)
        # {{ value|default:"never" }}: a literal that reaches the page as it is written
        untranslated += [f"{path.relative_to(BASE)}: {m}" for m in re.findall(
            r"""\|(?:default|default_if_none|yesno):["']([^"']*[A-Za-z]{2,}[^"']*)["']""", source)]
        source = TEMPLATE_TAGS.sub(" ", source)  # what {% trans %} and {{ value }} give is not the template's
        attributes = re.findall(r'(?:title|aria-label|placeholder|alt)="([^"]*)"', source)
        for piece in [*re.sub(r"<[^>]*>", "\n", source).split("\n"), *attributes]:
            if re.search(r"[A-Za-z]{2,}", NOT_LANGUAGE.sub(" ", piece)):
                untranslated.append(f"{path.relative_to(BASE)}: {piece.strip()[:80]}")
    assert not untranslated, "\n".join(untranslated)


# The calls whose first text argument a person reads: domain errors (forms, page
# messages, API details) and Django's page messages (the text is their second argument).
MESSAGE_CALLS = {"ApplicationError": 0, "NotFoundError": 0, "ConflictError": 0, "SignInError": 0,
                 "success": 1, "error": 1, "info": 1, "warning": 1, "FileError": 2}
SOURCE_LEFT_OUT = ("tests", "kustomer_sandbox", "bench", "loadtest", "scripts", "docs", "locale", "templates")


@pytest.mark.unit
def test_every_message_a_service_or_page_raises_is_a_gettext_text():
    """`raise ApplicationError("...")` or `messages.success(request, f"...")` with a
    literal would stay English on a Korean page; gettext("... %(name)s ...") % {...}
    translates it in the request's language (the API's `detail` too, as core/api.py's)."""
    literal = []
    for path in sorted(BASE.rglob("*.py")):
        parts = path.relative_to(BASE).parts
        if parts[0].startswith(".") or parts[0] in SOURCE_LEFT_OUT or "migrations" in parts or "management" in parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            index = MESSAGE_CALLS.get(name)
            if index is None or len(node.args) <= index:
                continue
            arg = node.args[index]
            words = (arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else
                     "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
                     if isinstance(arg, ast.JoinedStr) else "")
            if re.search(r"[A-Za-z]{2,}", words):
                literal.append(f"{path.relative_to(BASE)}:{node.lineno}: {words[:70]}")
    assert not literal, "\n".join(literal)


# --- the pages ----------------------------------------------------------------------------

KOREAN = {"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9"}


def _korean_page(client, path: str, *, status: int = 200, data: dict | None = None) -> str:
    answer = client.post(path, data, **KOREAN) if data is not None else client.get(path, **KOREAN)
    assert answer.status_code == status, (path, answer.status_code)
    html = answer.content.decode()
    assert '<html lang="ko">' in html and HANGUL.search(html), path
    assert english_sentences(html) == [], (path, english_sentences(html))
    return html


def _needs_customer_event(tenant) -> Event:
    return Event.objects.create(
        tenant=tenant, event_id="e-shared-1", type="call.answered", occurred_at=timezone.now(), session_id="s-1",
        customer_key="+14155550123", raw_body="{}", body_hash="x", payload={}, state=Event.State.NEEDS_CUSTOMER,
        customer_candidates=[{"id": "c-1", "name": "Ann Lee", "email": "ann@example.com"},
                             {"id": "c-2", "name": "Andy Lee", "email": "andy@example.com"}])


@pytest.mark.django_db
def test_r_o1_r_o3_r_o4_the_newer_pages_read_in_korean(tenant, ready, admin_client, run_on_commit):  # noqa: F811
    """The dashboard with its R-O1 and R-O5 cards, Needs a customer (R-O1), the status
    map with a dry run (R-O4), the import page and its per-entry errors (R-O4), the
    backfill (R-O3), sync settings and call logging policies, in Korean."""
    _needs_customer_event(tenant)
    with ready.sandbox.server.state.lock:
        add_status(ready.sandbox.org, name="Coaching", status_type="unavailable")
    run_on_commit(admin_client.post, "/settings/status-mapping/refresh/", **KOREAN)

    dashboard = _korean_page(admin_client, "/")
    assert "고객 선택 필요" in dashboard
    assert "e-shared-1" in _korean_page(admin_client, "/sync/needs-customer/")
    mapping = _korean_page(admin_client, "/settings/status-mapping/")
    assert "시험 실행" in mapping
    s = ready.statuses
    dry_run = _korean_page(admin_client, "/settings/status-mapping/", data={
        "config_version": tenant.__class__.objects.get(pk=tenant.pk).config_version,
        f"map:{s['Away']}": "Available", "dry_run": "1"})
    assert 'data-testid="dry-run-agent1@example.com"' in dry_run
    _korean_page(admin_client, "/settings/status-mapping/import/")
    from django.core.files.uploadedfile import SimpleUploadedFile
    bad = SimpleUploadedFile("map.json", b'{"format": "status-mapping", "version": 1, "mapping": [\n 7,\n'
                                         b' {"kustomer_status": "Nowhere", "cc_status": "Break"}]}')
    errors = _korean_page(admin_client, "/settings/status-mapping/import/", data={"file": bad}, status=400)
    assert "mapping[0]" in errors and "각 항목은 객체여야 합니다." in errors
    _korean_page(admin_client, "/settings/custom-fields/backfill/")
    _korean_page(admin_client, "/settings/sync-settings/")
    _korean_page(admin_client, "/settings/call-logging-policies/")
    _korean_page(admin_client, "/settings/agent-status/")


@pytest.mark.django_db
def test_a_services_error_comes_back_in_korean_next_to_its_field(admin_client, tenant):
    """tenants/services.user_invite's ApplicationError (the address has an account),
    shown on Settings › Users next to the e-mail field; English for an English browser."""
    UserFactory(username="kim@acme.example", email="kim@acme.example", tenant=tenant)
    taken = {"email": "kim@acme.example", "role": "viewer"}
    html = _korean_page(admin_client, "/settings/users/", data=taken)
    assert "kim@acme.example은(는) 이미 계정이 있습니다." in html and "already has an account" not in html
    english = admin_client.post("/settings/users/", taken, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "kim@acme.example already has an account." in english


@pytest.mark.django_db
def test_the_adapter_reads_in_korean(client, tenant):
    """The agent's panel inside Kustomer, in the browser's language: the page's words and
    adapter.js's (its <template id="adapter-texts">)."""
    from adapter import auth
    from statusmapping.services import agent_create

    agent_create(tenant=tenant, email="ann@acme.example", name="Ann")
    session = client.session
    session[auth.SESSION_KEY] = {"session_id": auth.adapter_session_start(tenant=tenant, agent_email="ann@acme.example").pk}
    session.save()
    html = _korean_page(client, "/adapter/")
    assert "진행 중인 항목이 없습니다." in html and "{phone}에 전화하는 중…" in html
    assert "Nothing in progress." in client.get("/adapter/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.post("/adapter/sign-out/", **KOREAN)
    _korean_page(client, "/adapter/")  # the sign-in page


# --- the e-mails ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_invitation_follows_the_inviting_admins_language(admin_client, run_on_commit):  # noqa: F811
    run_on_commit(admin_client.post, "/settings/users/", {"email": "new@acme.example", "role": "viewer"}, **KOREAN)
    users = _korean_page(admin_client, "/settings/users/")
    assert "사용자 초대" in users and "user invited" not in users  # the audit log's action, stored in English
    (invitation,) = mail.outbox
    assert "뷰어(으)로 초대되었습니다." in invitation.body
    assert "컨택센터 포털에 초대되었습니다" in invitation.subject
    assert "이 링크를 열어 비밀번호를 설정하세요" in invitation.body and "Open this link" not in invitation.body
    assert "사용자 이름은 new@acme.example입니다." in invitation.body


@pytest.mark.django_db
def test_a_password_reset_email_reaches_a_korean_speaker_in_korean(client, tenant):
    """The person chose Korean (UserLanguage): the e-mail is Korean even when the page
    that asked was English; someone who chose nothing gets the page's language."""
    korean = UserFactory(username="kim@acme.example", email="kim@acme.example", tenant=tenant)
    UserLanguage.objects.create(user=korean, language="ko")
    UserFactory(username="sam@acme.example", email="sam@acme.example", tenant=tenant)
    for email in ("kim@acme.example", "sam@acme.example"):
        assert client.post("/password/forgot/", {"email": email}, HTTP_ACCEPT_LANGUAGE="en").status_code == 302
    kim, sam = mail.outbox
    assert kim.to == ["kim@acme.example"] and kim.subject == "컨택센터 포털 비밀번호 설정"
    assert "본인이 요청하지 않았다면 이 이메일을 무시하세요." in kim.body and "ignore this e-mail" not in kim.body
    assert sam.subject == "Set your contact center portal password" and "ignore this e-mail" in sam.body


@pytest.mark.django_db
def test_r_o5_the_new_status_alert_reaches_each_admin_in_their_language(
        tenant, ready, api, tenant_admin, run_on_commit):  # noqa: F811
    korean = UserFactory(username="kim@acme.example", email="kim@acme.example", tenant=tenant)
    UserLanguage.objects.create(user=korean, language="ko")
    api.put("/api/v1/status-inheritance", {"email_new_unmapped_statuses": True}, format="json")
    with ready.sandbox.server.state.lock:
        add_status(ready.sandbox.org, name="Coaching", status_type="unavailable")
    run_on_commit(api.post, "/api/v1/kustomer-statuses/refresh")
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    assert set(by_recipient) == {(tenant_admin.email,), ("kim@acme.example",)}
    english, korean_mail = by_recipient[(tenant_admin.email,)], by_recipient[("kim@acme.example",)]
    assert english.subject == "New Kustomer status not mapped: Coaching"
    assert korean_mail.subject == "매핑되지 않은 새 Kustomer 상태: Coaching"
    assert "Coaching" in korean_mail.body and "/settings/status-mapping/" in korean_mail.body
    assert "여기에서 매핑하세요" in korean_mail.body and english_sentences(korean_mail.body) == []


@pytest.mark.django_db
def test_every_other_admin_page_reads_in_korean(tenant, ready, admin_client, run_on_commit):  # noqa: F811
    """The rest of the admin's pages, with data on them: Kustomer connection, custom
    fields, CCAI Platform, agents and an agent's history, API keys, events and one event,
    webhook deliveries, a CC status, the login and password pages."""
    from statusmapping.models import CCStatus
    from statusmapping.selectors import agent_get_by_email

    run_on_commit(admin_client.post, "/settings/status-mapping/refresh/", **KOREAN)
    event = _needs_customer_event(tenant)
    agent = agent_get_by_email(tenant=tenant, email="agent1@example.com")
    status = CCStatus.objects.filter(tenant=tenant).first()
    for path in ("/settings/kustomer/", "/settings/custom-fields/", "/settings/ccai-platform/", "/agents/",
                 f"/agents/{agent.pk}/history/", f"/agents/{agent.pk}/edit/", "/settings/api-keys/", "/sync/events/",
                 f"/sync/events/{event.pk}/", "/sync/webhooks/",
                 f"/settings/status-mapping/cc-statuses/{status.pk}/"):
        _korean_page(admin_client, path)
    admin_client.logout()
    for path in ("/login/", "/password/forgot/", "/password/forgot/sent/"):
        _korean_page(admin_client, path)



@pytest.mark.django_db
def test_r_a3_the_verification_words_are_in_the_language_of_the_admin_who_saved(
        tenant, admin_client, sandbox_org, run_on_commit):  # noqa: F811
    """The check runs in a worker: the task carries the admin's language, so the words
    it records (shown on the connection page) read in it."""
    from integrations.models import KustomerConnection

    form = {"base_url": sandbox_org.base_url, "api_key": "not-the-key", "rate_limit_per_minute": 1000}
    run_on_commit(admin_client.post, "/settings/kustomer/", form, **KOREAN)
    connection = KustomerConnection.objects.get(tenant=tenant)
    assert connection.verify_state == KustomerConnection.VerifyState.FAILED
    assert connection.last_error.startswith("키 거부(401)")
    page = _korean_page(admin_client, "/settings/kustomer/")
    assert connection.last_error in page and "실패" in page
