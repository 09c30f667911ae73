"""The OpenAPI document is served and describes the contract's endpoints."""
import pytest


@pytest.mark.django_db
def test_the_schema_lists_the_contract_endpoints_and_the_bearer_scheme(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    for path in [
        "/api/v1/events",
        "/api/v1/events/{id}",
        "/api/v1/agent-status/events",
        "/api/v1/adapter/heartbeat",
        "/api/v1/click-to-call",
        "/api/v1/custom-fields",
        "/api/v1/custom-fields/{id}",
        "/api/v1/custom-fields/{id}/retry",
        "/api/v1/kustomer-statuses",
        "/api/v1/kustomer-statuses/refresh",
        "/api/v1/status-mapping",
        "/api/v1/status-inheritance",
        "/api/v1/support/tenants/{slug}/status-inheritance-availability",
        "/api/v1/agents",
        "/api/v1/agents/{email}",
        "/api/v1/agents/{email}/status-history",
    ]:
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["tenantApiKey"]["scheme"] == "bearer"


@pytest.mark.django_db
def test_the_browsable_docs_are_served_without_a_cdn(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html
