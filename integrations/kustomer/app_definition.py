"""The tenant's Kustomer app definition, in Kustomer's wire format (SPEC R-X4).

`integrations.rules.plan_kustomer_app` decides what goes in; this module writes it as
the JSON `POST /v1/apps/available` takes. Each part follows Kustomer's developer docs
(developer.kustomer.com):

- "App definition basics" / "App definition anatomy": `app`, `version` (semver),
  `title` required; `description`, `iconUrl`, `appDetails`, `visibility`; the schema
  is strict (no key Kustomer does not know).
- "Namespacing for private apps": the app name carries `_<orgId>` (rules.py).
- "App Settings": `settings.<category>.<name>` with `type`, `defaultValue`,
  `required`; here the portal URL and the tenant, which the widget URL reads.
- "Widgets": one widget, the adapter at `<portal>/adapter/`, its `url` built from
  `{{{settings.default.<name>}}}`, an `icon`, viewport-relative `width`/`height`,
  `iframePermissions` "microphone *; autoplay *;" (a softphone), `backgroundLoad`.
- "Internationalization": `i18n.en_us` (the fallback) and `i18n.ko_kr`: the settings
  page title and description, each setting's label and help, the widget's title
  (`<app>.widgets.<name>.title`).
- "Voice / VoIP apps": a voice app with status sync and click-to-dial declares
  `meta.externalQueue` (the queue Kustomer routes the app's events to; SPEC R-S9
  checks teams select it) and `dataSubscriptions` (the events the app is fed).
"""
from __future__ import annotations

from typing import Any

from integrations.rules import KustomerAppPlan

WIDGET_NAME = "adapter"
SETTINGS_CATEGORY = "default"
# "Voice / VoIP apps": the events the app is connected to. The names are those of
# Kustomer's event catalog (docs/events/event-catalog); the portal's own feed of them is
# the outbound webhook and the status watcher.
DATA_SUBSCRIPTIONS = ("kustomer.conversation.create", "kustomer.conversation.update")

TEXT = {
    "en_us": {
        "title": "Contact Center (CCAI Platform)",
        "description": "The contact center's agent panel inside Kustomer: status sync, click-to-call, "
                       "and the conversation of the call or chat in progress.",
        "settings.page.title": "Contact Center (CCAI Platform)",
        "settings.page.description": "Connects Kustomer to the contact-center portal. Filled in by the portal; "
                                     "change only if the portal moved.",
        "portalUrl.displayName": "Portal URL",
        "portalUrl.description": "The contact-center portal that serves the agent panel.",
        "tenant.displayName": "Tenant",
        "tenant.description": "Your organisation's identifier in the portal.",
        "widget.title": "Contact center",
    },
    "ko_kr": {
        "title": "컨택 센터 (CCAI Platform)",
        "description": "Kustomer 안의 컨택 센터 상담원 패널: 상태 동기화, 클릭 투 콜, 진행 중인 통화나 채팅의 대화.",
        "settings.page.title": "컨택 센터 (CCAI Platform)",
        "settings.page.description": "Kustomer를 컨택 센터 포털에 연결합니다. 포털이 채웁니다. 포털 주소가 바뀐 경우에만 고치세요.",
        "portalUrl.displayName": "포털 URL",
        "portalUrl.description": "상담원 패널을 제공하는 컨택 센터 포털입니다.",
        "tenant.displayName": "테넌트",
        "tenant.description": "포털에서 조직을 식별하는 값입니다.",
        "widget.title": "컨택 센터",
    },
}


def _i18n(app: str) -> dict[str, dict[str, str]]:
    result = {}
    for locale, text in TEXT.items():
        strings = {
            f"{app}.settings.page.title": text["settings.page.title"],
            f"{app}.settings.page.description": text["settings.page.description"],
            f"{app}.widgets.{WIDGET_NAME}.title": text["widget.title"],
        }
        for setting in ("portalUrl", "tenant"):
            for part in ("displayName", "description"):
                strings[f"{app}.settings.path.{SETTINGS_CATEGORY}.{setting}.{part}"] = text[f"{setting}.{part}"]
        result[locale] = strings
    return result


def build_app_definition(plan: KustomerAppPlan) -> dict[str, Any]:
    """The JSON body of `POST /v1/apps/available` for this plan."""
    static = f"{plan.portal_url}/static/adapter"
    setting = "{{{settings.%s.%%s}}}" % SETTINGS_CATEGORY
    return {
        "app": plan.app_name,
        "version": plan.version,
        "title": TEXT["en_us"]["title"],
        "description": TEXT["en_us"]["description"],
        "visibility": "private",
        "iconUrl": f"{static}/app-icon.png",
        "appDetails": {
            "appDeveloper": {"name": "Contact-center portal", "website": plan.portal_url},
            "externalPlatform": {"name": "Google Cloud CCAI Platform", "website": "https://cloud.google.com/solutions/contact-center-ai-platform"},
            "documentationLinks": [{"title": "The agent adapter", "url": f"{plan.portal_url}/adapter/"}],
        },
        "settings": {
            SETTINGS_CATEGORY: {
                "portalUrl": {"type": "string", "defaultValue": plan.portal_url, "required": True},
                "tenant": {"type": "string", "defaultValue": plan.tenant_slug, "required": True},
            },
        },
        "widgets": [{
            "name": WIDGET_NAME,
            "title": TEXT["en_us"]["widget.title"],
            "url": f"{setting % 'portalUrl'}/adapter/?tenant={setting % 'tenant'}",
            "icon": f"{static}/widget-icon.png",
            "width": plan.widget_width,
            "height": plan.widget_height,
            "iframePermissions": plan.iframe_permissions,
            "backgroundLoad": plan.background_load,
        }],
        "meta": {"externalQueue": {"name": plan.external_queue}},
        "dataSubscriptions": list(DATA_SUBSCRIPTIONS),
        "i18n": _i18n(plan.app_name),
    }
