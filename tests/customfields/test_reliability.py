"""Custom fields under races, lost tasks and bugs (SPEC §5)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from customfields import services
from customfields.models import CustomField
from core.errors import ConflictError
from tests.customfields.factories import CustomFieldFactory


@pytest.mark.django_db
def test_a_pending_field_whose_task_was_lost_is_queued_again_and_created(
    sandbox_connection, sandbox_org, django_capture_on_commit_callbacks
):
    lost = CustomFieldFactory(tenant=sandbox_connection.tenant, catalogue_key="queue_name", state="pending", created_at=None)
    recent = CustomFieldFactory(tenant=sandbox_connection.tenant, catalogue_key="hold_time", state="pending", created_at=None)
    CustomField.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(minutes=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.custom_fields_requeue_stale() == 1
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert (lost.state, recent.state) == ("created", "pending")  # a recent one still has its task
    metadata = sandbox_org.session().get(f"{sandbox_org.base_url}/v1/metadata/message", timeout=5).json()
    assert "queueNameStr" in metadata["data"]["attributes"]["properties"]


@pytest.mark.django_db
def test_an_unexpected_error_fails_the_field_visibly(connected, monkeypatch, django_capture_on_commit_callbacks):
    from customfields import tasks

    def broken(**kwargs):
        raise RuntimeError("bug")

    field = CustomFieldFactory(tenant=connected.tenant, state="pending", created_at=None)
    monkeypatch.setattr(tasks.services, "custom_field_push", broken)
    with pytest.raises(RuntimeError):
        tasks.custom_field_push_task.apply(args=[field.pk], throw=True)
    field.refresh_from_db()
    assert field.state == "failed" and "Unexpected error in the portal" in field.error


@pytest.mark.django_db(transaction=True)
def test_r_f4_concurrent_creates_of_one_field_make_one_row_and_clear_409s(tenant, monkeypatch):
    """Several requests creating the same field at once: the unique constraint decides,
    every loser gets the 409 a single duplicate gets (never a 500)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite serialises every writer")
    from tests.customfields.conftest import connect

    # The push is not under test here (it would run eagerly on commit and call Kustomer).
    monkeypatch.setattr("customfields.services.enqueue_on_commit", lambda *args, **kwargs: None)
    connect(tenant, base_url="https://acme.api.kustomerapp.com", api_key="k-not-called")
    for key in ("queue_name", "wait_time", "csat_rating"):
        barrier = threading.Barrier(4)
        outcomes: list[str] = []

        def create():
            try:
                barrier.wait()
                services.custom_field_create_from_catalogue(tenant=tenant, key=key)
                outcomes.append("created")
            except ConflictError:
                outcomes.append("conflict")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=create) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == ["conflict", "conflict", "conflict", "created"], key
        assert CustomField.objects.filter(tenant=tenant, catalogue_key=key).count() == 1


@pytest.mark.django_db
def test_a_custom_field_push_is_not_retried_forever(connected, monkeypatch):
    """Issue 22: the sweeper queued a pending field again every 15 minutes, for ever.
    Past PUSH_MAX_ATTEMPTS attempts over its tasks it is failed with its last error."""
    queued = []
    monkeypatch.setattr(services, "_enqueue_push", lambda field_id: queued.append(field_id))
    tired = CustomFieldFactory(tenant=connected.tenant, catalogue_key="queue_name", state="pending", created_at=None,
                               attempts=services.PUSH_MAX_ATTEMPTS, error="Kustomer 503 (retrying)")
    young = CustomFieldFactory(tenant=connected.tenant, catalogue_key="hold_time", state="pending", created_at=None,
                               attempts=2)
    CustomField.objects.filter(pk__in=[tired.pk, young.pk]).update(updated_at=timezone.now() - timedelta(minutes=20))
    assert services.custom_fields_requeue_stale() == 1
    assert queued == [young.pk]
    tired.refresh_from_db()
    assert tired.state == "failed" and "gave up after" in tired.error and "Kustomer 503" in tired.error
    # Queued again just now, so the next sweep (its mark before that) leaves it alone.
    assert services.custom_fields_requeue_stale(queued_before=timezone.now() - timedelta(minutes=16)) == 0
