"""The sandbox's agent desktop (Kustomer around the installed apps' widgets)."""
from __future__ import annotations

import json
import re

import requests


def test_desktop_escapes_kustomer_data_and_shows_the_agents_status(sandbox_demo_org):
    base = sandbox_demo_org.base_url
    created = sandbox_demo_org.session().post(f"{base}/v1/customers", json={
        "name": "</script><script>alert(1)</script>", "phones": [{"type": "mobile", "phone": "+14155550123"}],
    }, timeout=10)
    assert created.status_code == 201, created.text
    page = requests.get(f"{base}/__sandbox/desktop/{sandbox_demo_org.org_id}", params={"agent": "agent2@example.com"}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<script>alert(1)" not in page.text  # only inside JSON, with "</" broken up
    config = json.loads(re.search(r'<script type="application/json" id="desktop-config">(.*?)</script>', page.text,
                                  re.S).group(1))
    assert config["data"]["agent"]["email"] == "agent2@example.com"
    assert config["data"]["agent"]["status"] == "Available"
    assert config["data"]["customers"][0]["phones"] == ["+14155550123"]
    assert config["widgets"] == []  # no app installed: nothing is framed by hand


def test_desktop_data_follows_the_agents_work_session(sandbox_demo_org):
    sandbox_demo_org.set_agent_status("agent1@example.com", "Lunch")
    data = requests.get(f"{sandbox_demo_org.base_url}/__sandbox/desktop/{sandbox_demo_org.org_id}/data",
                        params={"agent": "agent1@example.com"}, timeout=10).json()
    assert data["agent"]["status"] == "Lunch" and data["agent"]["statusType"] == "unavailable"
    assert "Lunch" in data["statuses"]


def test_desktop_of_an_unknown_org_is_not_found(sandbox_demo_org):
    assert requests.get(f"{sandbox_demo_org.base_url}/__sandbox/desktop/{'0' * 24}", timeout=10).status_code == 404
