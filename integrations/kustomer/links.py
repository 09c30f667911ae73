"""Where a Kustomer record opens for a person: the org's web app (Kustomer's agent
desktop), or, for an org on the Kustomer sandbox, the sandbox's view of the org."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class KustomerWebLinks:
    app_root: str  # "https://acme.kustomerapp.com/app" or the sandbox's org view
    sandbox: bool = False

    def customer(self, customer_id: str | None) -> str | None:
        if not customer_id:
            return None
        if self.sandbox:
            return f"{self.app_root}#customer-{quote(customer_id, safe='')}"
        return f"{self.app_root}/customers/{quote(customer_id, safe='')}"

    def conversation(self, conversation_id: str | None, *, customer_id: str | None = None) -> str | None:
        if not conversation_id:
            return None
        conversation = quote(conversation_id, safe="")
        if self.sandbox:
            return f"{self.app_root}#conversation-{conversation}"
        if customer_id:
            return f"{self.app_root}/customers/{quote(customer_id, safe='')}/event/{conversation}"
        return f"{self.app_root}/conversations/{conversation}"


def kustomer_web_links(*, base_url: str, org_id: str = "") -> KustomerWebLinks | None:
    """Links for the org behind an API base URL: `<org>.api.kustomerapp.com` opens in
    `<org>.kustomerapp.com/app`; any other host is taken for the sandbox, whose view
    needs the org id (None without it)."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host.endswith(".kustomerapp.com"):
        org = host.split(".")[0]
        if org == "api":  # a regional host names no org
            return None
        return KustomerWebLinks(app_root=f"https://{org}.kustomerapp.com/app")
    if org_id:
        root = base_url.rstrip("/")
        if root.endswith("/v1"):
            root = root[:-3]
        return KustomerWebLinks(app_root=f"{root}/__sandbox/view/{quote(org_id, safe='')}", sandbox=True)
    return None
