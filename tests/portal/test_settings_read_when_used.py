"""Settings are declared in portal/settings.py and read when used: `override_settings`
(like the environment at start-up) reaches the code without a re-import."""
from __future__ import annotations

from datetime import timedelta

from django.test import override_settings

from ccaip import services as ccaip_services
from conversations import fetch
from statusmapping import selectors


def test_fetch_bounds_follow_the_settings():
    with override_settings(SYNC_FETCH_MAX_BYTES=1234, SYNC_FETCH_TIMEOUT_SECONDS=3.5):
        policy = fetch.policy_from_settings()
    assert (policy.max_bytes, policy.timeout) == (1234, 3.5)


def test_adapter_instance_lifetime_follows_the_setting():
    with override_settings(ADAPTER_INSTANCE_TTL_SECONDS=7):
        assert selectors.adapter_instance_ttl() == timedelta(seconds=7)


def test_ccaip_settle_delay_follows_the_setting():
    with override_settings(CCAIP_SETTLE_SECONDS=12.0):
        assert ccaip_services._settle_seconds() == 12.0
