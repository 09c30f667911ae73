"""Issue 14 finding 9 (second half): no command prints a secret it was given. `make
simulate` takes the API key from the environment or a file, never its command line."""
import os
import stat
import subprocess
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from portal.management.commands.demo_setup import _keep_demo_key
from portal.management.commands.simulate_traffic import api_key_read

ROOT = Path(__file__).resolve().parents[2]
SECRET = "ccp_do-not-print-me-0123456789"


def test_make_simulate_never_puts_the_key_on_a_command_line():
    env = {**os.environ, "PORTAL_API_KEY": SECRET}
    dry = subprocess.run(["make", "-n", "simulate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "simulate_traffic" in dry.stdout
    assert SECRET not in dry.stdout + dry.stderr


def test_the_key_comes_from_the_environment_then_a_file(tmp_path, monkeypatch, settings):
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("PORTAL_API_KEY", SECRET)
    assert api_key_read(None) == SECRET
    monkeypatch.delenv("PORTAL_API_KEY")
    with pytest.raises(CommandError) as missing:
        api_key_read(None)
    assert "PORTAL_API_KEY" in str(missing.value)
    kept = _keep_demo_key(SECRET)  # what make run's demo set-up does
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert api_key_read(None) == SECRET
    other = tmp_path / "key.txt"
    other.write_text("ccp_other\n")
    assert api_key_read(str(other)) == "ccp_other"
