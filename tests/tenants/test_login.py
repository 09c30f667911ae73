"""Portal log-in, and its protection against password guessing."""
import pytest


@pytest.mark.django_db
def test_a_tenant_admin_logs_in_and_sees_their_tenant(client, tenant_admin):
    response = client.post("/login/", {"username": "acme-admin", "password": "pw-for-tests-1"}, follow=True)
    assert response.status_code == 200
    assert "Acme Support" in response.content.decode()


@pytest.mark.django_db
def test_pages_send_anonymous_visitors_to_log_in(client, tenant):
    response = client.get("/settings/kustomer/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_one(client, tenant_admin):
    for _ in range(5):
        client.post("/login/", {"username": "acme-admin", "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    locked = client.post("/login/", {"username": "acme-admin", "password": "pw-for-tests-1"}, REMOTE_ADDR="10.0.0.9")
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
