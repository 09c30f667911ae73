"""Production hardening on top of portal.settings.

Run with DJANGO_SETTINGS_MODULE=portal.settings_production and real secrets in the
environment (DJANGO_SECRET_KEY, FIELD_ENCRYPTION_KEYS, DATABASE_URL, ...);
`manage.py check --deploy` is then clean.
"""
from portal.settings import *  # noqa: F403
from portal.settings import env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")  # no default: refuse to start without one
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")  # likewise
KUSTOMER_EXTRA_API_HOSTS = env.list("KUSTOMER_EXTRA_API_HOSTS", default=[])
ADAPTER_HOST_ORIGINS = env.list("ADAPTER_HOST_ORIGINS", default=["https://*.kustomerapp.com"])
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = ["rest_framework.renderers.JSONRenderer"]  # noqa: F405

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
