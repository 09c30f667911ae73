"""The read-only HTML pages show what the sync wrote, escaped."""
import requests

XSS_NAME = '<script>alert("name")</script>'
XSS_PREVIEW = '<img src=x onerror="alert(1)">'


def _page(sandbox_org, path):
    response = requests.get(f"{sandbox_org.base_url}/__sandbox{path}", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    return response.text


def test_org_page_shows_customers_and_conversation_timelines(kapi_demo, sandbox_demo_org):
    kapi_demo.put(kapi_demo.url("/metadata/conversation"), json={"properties": {"queueNameStr": {"displayName": "Queue"}}})
    agent = kapi_demo.get(kapi_demo.url("/users?email=agent2@example.com")).json()["data"][0]
    customer = kapi_demo.post(kapi_demo.url("/customers"), json={"name": "Ann Lee", "phones": [{"phone": "+14155550123"}]}).json()["data"]
    conversation = kapi_demo.post(
        kapi_demo.url(f"/customers/{customer['id']}/conversations"),
        json={"name": "Inbound call", "assignedUsers": [agent["id"]], "custom": {"queueNameStr": "Billing"}},
    ).json()["data"]
    kapi_demo.post(kapi_demo.url(f"/conversations/{conversation['id']}/messages"),
                   json={"channel": "voice", "app": "ccaip", "preview": "Call answered by Agent Two"})
    kapi_demo.post(kapi_demo.url(f"/conversations/{conversation['id']}/notes"), json={"body": "Phone: +14155550123"})

    page = _page(sandbox_demo_org, f"/view/{sandbox_demo_org.org_id}")

    for text in ("Ann Lee", "Inbound call", "[open]", "Agent Two", "Call answered by Agent Two",
                 "Phone: +14155550123", "Billing", "agent1@example.com"):
        assert text in page, text


def test_pages_escape_everything_that_came_from_requests(kapi, sandbox_org):
    customer = kapi.post(kapi.url("/customers"), json={"name": XSS_NAME}).json()["data"]
    conversation = kapi.post(kapi.url(f"/customers/{customer['id']}/conversations"), json={"name": "a & b"}).json()["data"]
    kapi.post(kapi.url(f"/conversations/{conversation['id']}/messages"), json={"channel": "chat", "app": "x", "preview": XSS_PREVIEW})

    page = _page(sandbox_org, f"/view/{sandbox_org.org_id}")

    assert XSS_NAME not in page and XSS_PREVIEW not in page
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "a &amp; b" in page


def test_index_lists_orgs_with_links(kustomer_sandbox, sandbox_org):
    kustomer_sandbox.create_org("<b>Bold</b> org", "bold-org-key")

    page = _page(sandbox_org, "/")

    assert f'href="/__sandbox/view/{sandbox_org.org_id}"' in page
    assert "&lt;b&gt;Bold&lt;/b&gt; org" in page and "<b>Bold</b>" not in page


def test_unknown_org_page_is_404(sandbox_org):
    response = requests.get(f"{sandbox_org.base_url}/__sandbox/view/{'0' * 24}", timeout=5)

    assert response.status_code == 404
