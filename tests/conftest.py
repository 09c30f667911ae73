"""Fixtures shared by every app's tests."""
import pytest

# Pytest plugins of the project (fixtures usable from every test module).
pytest_plugins: list[str] = []
