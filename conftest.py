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
