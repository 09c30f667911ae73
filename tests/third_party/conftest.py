"""The third-party clients' own virtualenvs, built from pinned requirement files."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TAP_REQUIREMENTS = Path(__file__).with_name("requirements-tap-kustomer.txt")
TAP_VENV = ROOT / ".venv-tap-kustomer"


def tap_venv_ready() -> bool:
    stamp = TAP_VENV / ".installed"
    return stamp.exists() and stamp.read_text() == TAP_REQUIREMENTS.read_text()


def build_tap_venv() -> None:
    """The same steps as `make install`: a fresh venv, then the pinned requirements."""
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(TAP_VENV)], check=True)
    subprocess.run([str(TAP_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "-r", str(TAP_REQUIREMENTS)], check=True, timeout=600)
    (TAP_VENV / ".installed").write_text(TAP_REQUIREMENTS.read_text())


@pytest.fixture(scope="session")
def tap_kustomer_python() -> Path:
    """The python of tap-kustomer's virtualenv (built on first use when missing)."""
    if not tap_venv_ready():
        build_tap_venv()
    return TAP_VENV / "bin" / "python"
