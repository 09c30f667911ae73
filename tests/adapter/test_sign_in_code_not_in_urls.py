"""Issue 14 finding 9: the one-time sign-in code is never in a URL a server logs. The
dashboard's link carries it in the fragment; a code sent in a query string is not taken."""
from urllib.parse import urlsplit

import pytest

from statusmapping.services import agent_create

pytestmark = pytest.mark.django_db


def test_the_issued_link_carries_the_code_in_the_fragment_only(admin_client, tenant):
    agent_create(tenant=tenant, email="agent1@example.com")
    admin_client.post("/", {"action": "adapter_link", "email": "agent1@example.com"})
    link = admin_client.session["dashboard_adapter_link"]["url"]
    parts = urlsplit(link)
    assert parts.path == "/adapter/" and parts.query == ""
    assert parts.fragment.startswith("code=") and len(parts.fragment) > 40


def test_a_code_in_the_query_string_is_not_put_into_the_form(client, tenant):
    page = client.get("/adapter/", {"code": "some-code-from-an-old-link"}).content.decode()
    assert "some-code-from-an-old-link" not in page
    assert 'id="code-field"' in page  # the agent pastes the link instead
