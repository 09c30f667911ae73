"""End to end: the API on a live server, PostgreSQL, a real Celery worker on Redis, and
the Kustomer sandbox."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def _metadata(e2e, klass: str) -> dict:
    response = e2e.sandbox.session().get(f"{e2e.sandbox.base_url}/v1/metadata/{klass}", timeout=5)
    return response.json()["data"]["attributes"]["properties"]


def test_e2e_r_f2_fields_created_through_the_api_appear_in_kustomer(e2e):
    e2e.sandbox.inject_faults(error_next=1, error_status=502, methods=["PUT"], path_contains="/metadata/")
    ids = []
    for payload in ({"key": "queue_name"}, {"key": "custom_user_id"}, {"sdk_key": "orderId", "display_name": "Order ID", "type": "Str"}):
        response = e2e.post("/api/v1/custom-fields", payload)
        assert response.status_code == 201, response.text
        assert response.json()["state"] == "pending"
        ids.append(response.json()["id"])

    def all_created():
        states = [e2e.get(f"/api/v1/custom-fields/{i}").json() for i in ids]
        return states if all(s["state"] == "created" for s in states) else None

    fields = e2e.wait_for(all_created, timeout=60, what="every field created in Kustomer")
    assert {f["attribute_name"] for f in fields} == {"queueNameStr", "customUserIdStr", "orderIdStr"}
    assert max(f["attempts"] for f in fields) == 2  # the 502 was retried by the worker
    message = _metadata(e2e, "message")
    assert message["queueNameStr"]["displayName"] == "Queue name"
    assert message["orderIdStr"]["displayName"] == "Order ID"
    assert _metadata(e2e, "customer")["customUserIdStr"]["displayName"] == "Custom user ID"
