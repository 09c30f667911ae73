"""Pytest plugins of the project: fixtures usable from every test module."""

pytest_plugins: list[str] = ["tests.e2e_fixtures", "kustomer_sandbox.pytest_plugin"]

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _process_caches_forgotten():
    """Each test starts without cached tenant configurations or API keys: ids of
    rolled-back tenants come back on SQLite, and a copy from another test must never
    answer for them."""
    from statusmapping.selectors import status_configs_forget
    from tenants.services import api_keys_forget

    status_configs_forget()
    api_keys_forget()
    yield


# --- Test layers -----------------------------------------------------------------------
# Every test carries exactly one layer marker, set here from what the test uses, so no
# test file has to remember it: `make test-fast` runs `unit` and `db` (pytest -m).
_LAYERS = ("faults", "browser", "e2e", "db", "unit")  # the first that applies wins
_DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
                "live_server"}
_BROWSER_FIXTURES = {"playwright_browser", "browser_page", "chromium_executable"}


def _layer(item) -> str:
    path = item.path.as_posix()
    names = set(getattr(item, "fixturenames", ()))
    if "/tests/faults/" in path or item.get_closest_marker("faults"):
        return "faults"
    if "/tests/browser/" in path or item.get_closest_marker("browser") or names & _BROWSER_FIXTURES:
        return "browser"
    if item.get_closest_marker("e2e") or "e2e" in names or "celery_worker_process" in names:
        return "e2e"
    if item.get_closest_marker("django_db") or names & _DB_FIXTURES:
        return "db"
    return "unit"


def pytest_collection_modifyitems(config, items):
    for item in items:
        layer = _layer(item)
        item.add_marker(getattr(pytest.mark, layer))
