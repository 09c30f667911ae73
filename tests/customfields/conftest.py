import pytest

from integrations.models import KustomerConnection
from core.crypto import encrypt_secret


def connect(tenant, *, base_url: str, api_key: str) -> KustomerConnection:
    return KustomerConnection.objects.create(
        tenant=tenant,
        base_url=base_url,
        api_key_encrypted=encrypt_secret(api_key),
        verify_state=KustomerConnection.VerifyState.OK,
    )


@pytest.fixture
def connected(tenant):
    """`tenant` connected to an org nobody answers for: tests that never let the push
    run (its task is queued on commit, and the test transaction never commits)."""
    return connect(tenant, base_url="https://acme.api.kustomerapp.com", api_key="k-not-called")


@pytest.fixture
def sandbox_connection(tenant, sandbox_org):
    """`tenant` connected to a fresh Kustomer sandbox org."""
    return connect(tenant, base_url=sandbox_org.base_url, api_key=sandbox_org.api_key)


@pytest.fixture
def eager_retries():
    """Let an eager task's `self.retry()` run the retry inline (as a worker would, minus
    the countdown) instead of propagating Celery's Retry exception to the test."""
    from portal.celery import app

    before = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    try:
        yield
    finally:
        app.conf.task_eager_propagates = before
