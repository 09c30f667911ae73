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


@pytest.mark.django_db
def test_one_password_sprayed_over_many_user_names_from_one_address_is_locked_out(client, tenant_admin):
    """Issue 14 finding 10: the lock-out also counts per address across user names."""
    from tests.tenants.factories import UserFactory

    for number in range(8):
        UserFactory(username=f"sprayed-{number}", tenant=tenant_admin.tenant)
    answers = [client.post("/login/", {"username": f"sprayed-{n}", "password": "Spring2026!"},
                           REMOTE_ADDR="10.0.0.77").status_code for n in range(8)]
    assert answers[:4] == [200] * 4 and set(answers[4:]) == {429}  # the 5th failure locks
    # Even the right password of yet another account is refused from that address ...
    locked = client.post("/login/", {"username": "acme-admin", "password": "pw-for-tests-1"}, REMOTE_ADDR="10.0.0.77")
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
    assert "15 minutes" in locked.content.decode()
    # ... while another address is not affected.
    elsewhere = client.post("/login/", {"username": "acme-admin", "password": "pw-for-tests-1"},
                            REMOTE_ADDR="10.0.0.78")
    assert elsewhere.status_code == 302


@pytest.mark.django_db
def test_the_log_in_page_states_the_lock_out_rule(client, settings):
    settings.AXES_FAILURE_LIMIT = 5
    page = client.get("/login/").content.decode()
    assert "After 5 wrong passwords" in page and "paused for 15 minutes" in page
