"""R-O4 mapping tools against the Kustomer sandbox (real HTTP): the status map and
two-way choices export as a file by status names and import into another tenant whose
Kustomer org has other ids (validated, errors per entry with their line, all or nothing,
refused from a stale tab); a dry run lists each agent's current and would-be status."""
from __future__ import annotations

import json
import secrets

import pytest
from rest_framework.test import APIClient

from core.crypto import encrypt_secret
from integrations.models import KustomerConnection
from kustomer_sandbox.pytest_plugin import SandboxOrg
from statusmapping.models import CCStatus, KustomerStatus
from tests.tenants.factories import make_api_key
from tests.statusmapping.conftest import seed_sandbox_org
from tests.statusmapping.test_sandbox_sync import agent1, ready, run_on_commit, watch  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_connected(other_tenant, kustomer_sandbox, run_on_commit):  # noqa: F811
    """`other_tenant` connected to a second sandbox org (same status names, other ids),
    its statuses read; an API client of it."""
    key = secrets.token_hex(20)
    org = SandboxOrg(server=kustomer_sandbox, org=kustomer_sandbox.create_org(f"t-{secrets.token_hex(4)}", key),
                     api_key=key)
    seeded = seed_sandbox_org(org)
    KustomerConnection.objects.create(tenant=other_tenant, base_url=org.base_url, api_key_encrypted=encrypt_secret(key),
                                      verify_state=KustomerConnection.VerifyState.OK)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(other_tenant)[1]}")
    assert run_on_commit(client.post, "/api/v1/kustomer-statuses/refresh").status_code == 202
    return seeded, client


def test_r_o4_export_imports_into_another_tenant_by_status_names(tenant, ready, api, other_tenant,  # noqa: F811
                                                                  other_connected):
    assert api.post("/api/v1/cc-statuses", {"name": "Coaching"}, format="json").status_code == 201
    s = ready.statuses
    api.put("/api/v1/status-mapping", {"mapping": {s["Available"]: "Available", s["Away"]: "Coaching",
                                                   s["Busy"]: "Unavailable"},
                                       "push": {"Coaching": s["Away"]}}, format="json")
    exported = api.get("/api/v1/status-mapping/export")
    assert exported.status_code == 200 and "attachment" in exported["Content-Disposition"]
    document = json.loads(exported.content)
    assert (document["format"], document["version"]) == ("status-mapping", 1)
    assert {"kustomer_status": "Away", "cc_status": "Coaching"} in document["mapping"]

    other_org, other_api = other_connected
    answer = other_api.post("/api/v1/status-mapping/import", exported.content, content_type="application/json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["added_cc_statuses"] == ["Coaching"]
    mapped = other_api.get("/api/v1/status-mapping").json()
    o = other_org.statuses
    assert o["Away"] != s["Away"]  # another org: other ids, the same names
    assert mapped["mapping"][o["Away"]] == "Coaching"
    assert mapped["mapping"][o["Busy"]] == "Unavailable"
    assert mapped["mapping"][o["Email"]] is None  # left out of the file's map: unmapped
    assert mapped["push"]["Coaching"] == o["Away"]


def test_r_o4_a_bad_file_names_each_entry_and_its_line_and_changes_nothing(tenant, ready, api):  # noqa: F811
    before = api.get("/api/v1/status-mapping").json()
    version = tenant.__class__.objects.get(pk=tenant.pk).config_version
    text = api.get("/api/v1/status-mapping/export").content.decode()
    text = text.replace('"kustomer_status": "Away", "cc_status": "Break"', '"kustomer_status": "Gone", "cc_status": "Break"')
    text = text.replace('"kustomer_status": "Busy", "cc_status": "Unavailable"',
                        '"kustomer_status": "Busy", "cc_status": "Nope"')
    text = text.replace('{"name": "Lunch", "routable": false, "activity": "none"}',
                        '{"name": "Brand new", "routable": false, "activity": "none"}')
    answer = api.post("/api/v1/status-mapping/import", text, content_type="application/json")
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    gone_line = next(i for i, line in enumerate(text.splitlines(), 1) if '"Gone"' in line)
    nope_line = next(i for i, line in enumerate(text.splitlines(), 1) if '"Nope"' in line)
    assert any(f"(line {gone_line})" in key and "Gone" in msgs[0] for key, msgs in errors.items())
    assert any(f"(line {nope_line})" in key and "Nope" in msgs[0] for key, msgs in errors.items())
    assert api.get("/api/v1/status-mapping").json()["mapping"] == before["mapping"]
    assert not CCStatus.objects.filter(tenant=tenant, name="Brand new").exists()  # nothing half-written
    assert tenant.__class__.objects.get(pk=tenant.pk).config_version == version

    wrong = api.post("/api/v1/status-mapping/import", '{"format": "status-mapping", "version": 9}',
                     content_type="application/json")
    assert wrong.status_code == 400 and "Version 9" in json.dumps(wrong.json())
    broken = api.post("/api/v1/status-mapping/import", '{"format": "status-mapping",\n "version": 1,,}',
                      content_type="application/json")
    assert broken.status_code == 400 and "(line 2)" in json.dumps(broken.json())


def test_r_o4_an_import_from_a_stale_page_is_refused(tenant, ready, api):  # noqa: F811
    version = tenant.__class__.objects.get(pk=tenant.pk).config_version
    text = api.get("/api/v1/status-mapping/export").content
    api.post("/api/v1/cc-statuses", {"name": "Coaching"}, format="json")  # someone else changed the configuration
    answer = api.post(f"/api/v1/status-mapping/import?config_version={version}", text, content_type="application/json")
    assert answer.status_code == 409 and "config_version" in answer.json()["errors"]


def test_r_o4_dry_run_lists_each_agents_current_and_would_be_status(tenant, ready, api):  # noqa: F811
    ready.set_status("agent1@example.com", "Away")
    watch(tenant)
    assert agent1(tenant).cc_status.name == "Break"
    s = ready.statuses
    answer = api.post("/api/v1/status-mapping/dry-run", {"mapping": {s["Away"]: "Meeting"}}, format="json")
    assert answer.status_code == 200
    (row,) = answer.json()["agents"]
    assert (row["email"], row["kustomer_status"], row["current"], row["would_be"], row["changes"]) == (
        "agent1@example.com", "Away", "Break", "Meeting", True)
    unmapped = api.post("/api/v1/status-mapping/dry-run", {"mapping": {}}, format="json").json()["agents"][0]
    assert (unmapped["would_be"], unmapped["decision"]) == ("Break", "unmapped")
    assert agent1(tenant).cc_status.name == "Break"  # nothing saved
    assert KustomerStatus.objects.get(tenant=tenant, kustomer_id=s["Away"]).cc_status.name == "Break"
    bad = api.post("/api/v1/status-mapping/dry-run", {"mapping": {s["Away"]: "Nope"}}, format="json")
    assert bad.status_code == 400


def test_r_o4_pages_dry_run_then_import(tenant, ready, admin_client, other_tenant, other_connected):  # noqa: F811
    ready.set_status("agent1@example.com", "Away")
    watch(tenant)
    s = ready.statuses
    page = admin_client.post("/settings/status-mapping/", {
        "config_version": tenant.__class__.objects.get(pk=tenant.pk).config_version,
        f"map:{s['Away']}": "Lunch", "dry_run": "1"})
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="dry-run-agent1@example.com"' in body and "<strong>Lunch</strong>" in body
    assert KustomerStatus.objects.get(tenant=tenant, kustomer_id=s["Away"]).cc_status.name == "Break"

    exported = admin_client.get("/settings/status-mapping/export/")
    assert exported.status_code == 200 and json.loads(exported.content)["tenant"] == "acme"
    from django.core.files.uploadedfile import SimpleUploadedFile
    upload = SimpleUploadedFile("map.json", exported.content, content_type="application/json")
    page = admin_client.post("/settings/status-mapping/import/", {"file": upload, "dry_run": "1"})
    assert page.status_code == 200 and "nothing was saved" in page.content.decode()
    upload = SimpleUploadedFile("map.json", b'{"format": "status-mapping", "version": 1, "mapping": [\n 7]}')
    page = admin_client.post("/settings/status-mapping/import/", {"file": upload})
    assert page.status_code == 400 and "mapping[0]" in page.content.decode()
