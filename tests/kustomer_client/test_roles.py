"""The roles the product asks for are the ones Kustomer's OpenAPI file (as the sandbox
reads it) lists for the endpoints it calls."""
import pytest

from integrations.kustomer.roles import NEEDS, holds_any, missing_roles
from kustomer_sandbox.roles import required_roles


@pytest.mark.parametrize("need", NEEDS, ids=lambda n: f"{n.method} {n.path}")
def test_each_role_need_matches_kustomers_list(need):
    path = need.path.replace("{id}", "6b0f0000000000000000abcd").replace("{resource}", "customer")
    assert set(need.accepted) == set(required_roles(need.method, path))


def test_a_key_with_the_listed_roles_lacks_nothing_and_legacy_roles_count():
    assert missing_roles([need.role for need in NEEDS]) == []
    assert missing_roles(["org.admin"]) == []
    assert [n.role for n in missing_roles(["org.user"])] == [
        "org.permission.metadata.update", "org.permission.outbound_webhook.create",
        "org.permission.outbound_webhook.read", "org.permission.outbound_webhook.delete",
    ]
    assert not holds_any(["org.permission.customer.read"], ["org.permission.customer.create"])


def test_r_o3_the_backfills_message_update_role_is_kustomers_and_optional():
    from integrations.kustomer.roles import MESSAGE_UPDATES

    assert set(MESSAGE_UPDATES.accepted) == set(required_roles("PATCH", "/messages/6b0f0000000000000000abcd"))
    assert MESSAGE_UPDATES not in NEEDS  # a key without it still verifies: live sync never updates a message
