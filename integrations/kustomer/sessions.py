"""One HTTP session per thread, shared by the clients that thread makes.

A client is made per event (integrations/services.py); with a session of its own each
event opened new TCP connections to Kustomer. A thread's session keeps them alive from
one event to the next. A `requests.Session` is not safe to share between threads, so a
worker thread (Celery's threads pool) gets its own, and a forked process a new one.
It keeps no cookies: one thread's session serves many tenants, and a cookie one org's
answer set must never ride along with another org's request on a shared regional host.
"""
from __future__ import annotations

import http.cookiejar
import os
import threading

import requests

_local = threading.local()


def thread_session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None or getattr(_local, "pid", None) != os.getpid():
        session = requests.Session()
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        _local.session = session
        _local.pid = os.getpid()
    return session
