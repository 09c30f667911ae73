"""Issue 13: `run_stack --port N` subscribes webhooks with its own URL."""
import pytest

from portal.management.commands.run_stack import public_url

pytestmark = pytest.mark.unit


def test_run_stack_port_sets_the_public_url_webhooks_are_subscribed_with():
    assert public_url(host="127.0.0.1", port=8123, environ={}) == "http://127.0.0.1:8123"
    assert public_url(host="0.0.0.0", port=9000, environ={}) == "http://127.0.0.1:9000"


def test_an_explicit_public_url_wins():
    assert public_url(host="127.0.0.1", port=8123, environ={"PORTAL_PUBLIC_URL": "https://cc.example.com"}) == \
        "https://cc.example.com"
