"""Settings for the test suite: the real settings, made fast and deterministic.

Tasks run eagerly unless a test starts a real worker (end-to-end tests set
CELERY_TASK_ALWAYS_EAGER=0 for that worker's process).
"""
import os

os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# Fixed, public keys: the suite (and the workers it starts) never writes var/ secrets.
# portal/checks.py warns about them, as about every key written in the source.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-insecure-key-0123456789-0123456789-0123456789")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5ISE=")

from portal.settings import *  # noqa: E402,F403
from portal.settings import VAR_DIR, env  # noqa: E402

# The apps' static folders are served as they are (no collectstatic before a run).
WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# Tests of the log-in lock-out turn it on by themselves.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
KUSTOMER_RATE_LIMIT_URL = env.str("KUSTOMER_RATE_LIMIT_URL", default=f"sqlite:///{VAR_DIR / 'test-ratelimit.sqlite3'}")
# The sandbox and its files are on loopback in tests.
SYNC_FETCH_ALLOW_PRIVATE = env.bool("SYNC_FETCH_ALLOW_PRIVATE", default=True)
# Live-server request threads must not keep connections open past their request: the
# test database could not be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
