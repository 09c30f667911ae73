"""Every page in plain words: its breadcrumb is the menu's path to it, no rule code of
the specification shows, and recent times read "just now"."""
from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from conversations.models import Event
from tenants.context_processors import NAVIGATION

pytestmark = pytest.mark.django_db
RULE_CODE = re.compile(r"\bR-[A-Z]{1,2}\d+\b")


def _text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _pages():
    for section, label, name, _depth, _also in NAVIGATION:
        try:
            yield section, label, reverse(name)
        except NoReverseMatch:
            continue


def test_each_breadcrumb_is_the_menus_path_and_no_rule_code_shows(admin_client):
    pages = list(_pages())
    assert len(pages) >= 9
    for section, label, url in pages:
        html = admin_client.get(url).content.decode()
        crumbs = re.search(r'class="crumbs">(.*?)</div>', html, re.S)
        assert crumbs, url
        assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", crumbs.group(1))).strip() == f"{section} › {label}", url
        found = RULE_CODE.search(_text(html))
        assert not found, f"{url} shows {found.group(0)}"


def test_a_fresh_event_was_received_just_now(admin_client, tenant):
    Event.objects.create(tenant=tenant, event_id="evt-now", type="call.answered", occurred_at=timezone.now(),
                         session_id="s-1", customer_key="+14155550123", raw_body="{}", body_hash="x", payload={},
                         state=Event.State.FAILED, error="no")
    dashboard = _text(admin_client.get("/").content.decode())
    assert "just now" in dashboard and "0 minutes" not in dashboard
    assert "just now" in _text(admin_client.get("/sync/events/").content.decode())
