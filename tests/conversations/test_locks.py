"""One holder at a time per customer key, across database connections (PostgreSQL)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from conversations.locks import customer_lock, lock_key


def test_lock_keys_differ_per_tenant_and_customer():
    assert lock_key(1, "+14155550123") == lock_key(1, "+14155550123")
    assert len({lock_key(1, "+14155550123"), lock_key(2, "+14155550123"), lock_key(1, "app:+14155550123")}) == 3


@pytest.mark.django_db(transaction=True)
def test_customer_lock_is_exclusive_across_connections_and_released():
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks need PostgreSQL (set DATABASE_URL)")

    def try_in_other_connection(key: str) -> bool:
        result = []

        def run():
            try:
                with customer_lock(1, key) as taken:
                    result.append(taken)
            finally:
                connections.close_all()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        return result[0]

    with customer_lock(1, "+14155550123") as taken:
        assert taken
        assert try_in_other_connection("+14155550123") is False
        assert try_in_other_connection("+14155550999") is True  # other customers run in parallel
    assert try_in_other_connection("+14155550123") is True  # released


def test_sqlite_file_lock_is_exclusive_per_key_and_released(tmp_path, settings):
    """The single-machine default runs two worker processes: the customer lock is a file
    lock there (one file per key, so a holder never blocks another customer)."""
    from core.locks import file_lock

    def _file_lock(key: int):
        return file_lock(key, file_prefix="customer")

    settings.VAR_DIR = tmp_path
    key, other = lock_key(1, "+14155550123"), lock_key(1, "+14155550999")

    def taken_elsewhere(k: int) -> bool:
        result = []
        thread = threading.Thread(target=lambda: result.append(_file_lock(k).__enter__()))
        thread.start()
        thread.join()
        return result[0]

    with _file_lock(key) as taken:
        assert taken
        assert taken_elsewhere(key) is False
    with _file_lock(other) as taken:
        assert taken
    with _file_lock(key) as taken:
        assert taken  # released
