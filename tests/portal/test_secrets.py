"""Issue 14 finding 1: no secret in the source. A fresh single-machine install makes its
own secret key and Fernet key (var/, mode 600), DEBUG is off unless asked for, and a
system check warns about keys written in public source."""
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from portal import checks

ROOT = Path(__file__).resolve().parents[2]
OLD_PUBLIC_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"

PROBE = """
import json, django
from django.conf import settings
from django.core import signing
from cryptography.fernet import Fernet, InvalidToken
django.setup()
forged = signing.dumps({"t": 1, "e": "agent1@example.com"}, key=%(old)r, salt="adapter.api-token")
try:
    signing.loads(forged, salt="adapter.api-token")
    token = "accepted"
except signing.BadSignature:
    token = "refused"
from core.crypto import decrypt_secret, SecretDecryptionError
try:
    decrypt_secret(Fernet(%(old_fernet)r).encrypt(b"kustomer-key").decode())
    fernet = "decrypted"
except SecretDecryptionError:
    fernet = "refused"
print(json.dumps({"secret": settings.SECRET_KEY, "fernet": settings.FIELD_ENCRYPTION_KEYS, "debug": settings.DEBUG,
                  "forged_token": token, "old_ciphertext": fernet}))
"""


def _clean_env(var_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DJANGO_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    return {**env, "DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_VAR_DIR": str(var_dir), **extra}


def _start(var_dir: Path, **extra) -> dict:
    script = PROBE % {"old": OLD_PUBLIC_KEY, "old_fernet": checks._derived_fernet(OLD_PUBLIC_KEY)}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=_clean_env(var_dir, **extra),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_fresh_install_makes_its_own_keys_kept_owner_only(tmp_path):
    first = _start(tmp_path / "a")
    assert first["secret"] not in checks.KNOWN_SECRET_KEYS and len(first["secret"]) >= 50
    assert first["debug"] is False
    for name in ("secret_key", "field_encryption_key"):
        assert stat.S_IMODE((tmp_path / "a" / name).stat().st_mode) == 0o600
    Fernet(first["fernet"][0])  # a valid Fernet key
    assert _start(tmp_path / "a")["secret"] == first["secret"]  # kept across restarts
    other = _start(tmp_path / "b")
    assert other["secret"] != first["secret"] and other["fernet"] != first["fernet"]  # every install its own


def test_tokens_forged_with_the_old_public_key_are_refused_and_its_ciphertexts_unreadable(tmp_path):
    fresh = _start(tmp_path)
    assert fresh["forged_token"] == "refused"
    assert fresh["old_ciphertext"] == "refused"


def test_debug_is_on_only_when_asked_for(tmp_path):
    assert _start(tmp_path, DJANGO_DEBUG="1")["debug"] is True


def test_manage_check_warns_about_a_key_from_the_source(tmp_path):
    args = [sys.executable, "manage.py", "check", "--fail-level", "WARNING"]
    clean = subprocess.run(args, cwd=ROOT, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    public = subprocess.run(args, cwd=ROOT, env=_clean_env(tmp_path, DJANGO_SECRET_KEY=OLD_PUBLIC_KEY),
                            capture_output=True, text=True, timeout=120)
    assert public.returncode != 0 and "portal.W001" in public.stderr


@pytest.mark.parametrize("secret, fernet_keys, expected", [
    (OLD_PUBLIC_KEY, None, {"portal.W001"}),
    ("x" * 60, [checks._derived_fernet(OLD_PUBLIC_KEY)], {"portal.W002"}),
    ("x" * 60, [Fernet.generate_key().decode()], set()),
])
def test_the_check_names_each_public_secret(settings, secret, fernet_keys, expected):
    settings.SECRET_KEY = secret
    if fernet_keys is not None:
        settings.FIELD_ENCRYPTION_KEYS = fernet_keys
    assert {w.id for w in checks.known_development_secrets(None)} == expected
