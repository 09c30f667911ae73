"""`manage.py kustomer_sandbox --demo` runs in the foreground and stops on Ctrl-C."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

# Starts the sandbox as its own process (manage.py): end-to-end, not fast.
pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_sandbox_serves_the_demo_org_until_ctrl_c():
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "portal.settings_test")}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "kustomer_sandbox", "--port", str(port), "--demo", "--demo-api-key", "demo-key-1"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{base}/__sandbox/orgs", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.1)
        headers = {"Authorization": "Bearer demo-key-1"}

        users = requests.get(f"{base}/v1/users?email=agent5@example.com", headers=headers, timeout=5).json()["data"]
        sessions = requests.get(f"{base}/v1/routing/work-sessions?active=true", headers=headers, timeout=5).json()

        assert [u["attributes"]["name"] for u in users] == ["Agent Five"]
        assert sessions["meta"]["total"] == 5
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    assert "Kustomer sandbox stopped." in output
