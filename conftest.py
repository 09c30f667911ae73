"""Pytest plugins of the project: fixtures usable from every test module."""

pytest_plugins: list[str] = ["tests.e2e_fixtures", "integrations.kustomer.sandbox.pytest_plugin"]
