"""Settings of the integration portal.

Everything an operator may change comes from the environment (django-environ). The
defaults serve one machine with no servers: SQLite for the data and the Celery broker,
a file cache, the Kustomer sandbox on 127.0.0.1:8765. `DATABASE_URL` switches to
PostgreSQL, `CELERY_BROKER_URL` to Redis or RabbitMQ, `CACHE_URL` to Redis.
Production hardening lives in `portal/settings_production.py`.
"""
import os
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)



def _local_secret(name: str, make) -> str:
    """A secret of this install, made on first start and kept in the data folder
    (readable by its owner only), so no two installs share one and none is in the source.
    Processes starting at once agree: the file appears whole (a hard link) or not at all."""
    path = VAR_DIR / name
    if not path.exists():
        temp = VAR_DIR / f".{name}.{os.getpid()}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process was first: use its secret
        finally:
            temp.unlink()
    return path.read_text().strip()


DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Single-machine mode: without DJANGO_SECRET_KEY in the environment, this install's own
# random key (var/secret_key). Production settings require it from the environment.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _local_secret("secret_key", get_random_secret_key)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The public URL the portal is reached at; Kustomer webhooks are subscribed to it.
PORTAL_PUBLIC_URL = env.str("PORTAL_PUBLIC_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "portal",
    "tenants",
    "integrations",
    "customfields",
    "statusmapping",
    "conversations",
    "adapter",
    "ccaip",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the browser's (Accept-Language) or the one a person chose
    # (portal.middleware.UserLanguageMiddleware, after authentication).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns locked-out log-ins into a clear page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenant",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web server, worker and beat share one file: wait for the lock instead of failing,
    # take the write lock up front (no upgrade deadlocks), and let readers run beside
    # the writer (WAL).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Support staff see and change everything in /admin/ (tenants.authentication).
    "tenants.authentication.SupportStaffBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Invitations and "Forgot password?" links (one-time, Django's token generator): valid
# this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3 * 24 * 3600)

# --- E-mail (invitations, password links) ----------------------------------------------
# Console (printed by the portal's process) unless an SMTP host is given; EMAIL_BACKEND
# names any other Django backend (e.g. django.core.mail.backends.filebased.EmailBackend
# with EMAIL_FILE_PATH).
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=10)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=(
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"))
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")

# Brute-force protection of the log-in form: after 5 failures for a user name from one
# address, that pair is locked for 15 minutes; and after 5 failures from one address,
# whatever the user names (one password sprayed over many accounts), that address is.
# The log-in page states both.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)

LANGUAGE_CODE = "en"
# The portal speaks English and Korean (locale/ko; `make messages` refreshes the catalogue).
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# In development whitenoise serves straight from the apps' static folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Secrets at rest ------------------------------------------------------------------
# Fernet keys (url-safe base64, 32 bytes) for secrets stored in the database, newest
# first: new values are encrypted with the first, every listed key still decrypts, and
# `manage.py rotate_encryption_keys` re-encrypts everything with the first.
# Without them in the environment: this install's own random key (var/field_encryption_key).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or [
    _local_secret("field_encryption_key", lambda: Fernet.generate_key().decode())
]

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.SingleRendererNegotiation",
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per credential, on the shared cache (core/throttling.py): 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.CredentialRateThrottle"],
}
# Requests per API key (and per portal user on the API), and per adapter token.
API_RATE_PER_KEY = env.str("API_RATE_PER_KEY", default="6000/min")
ADAPTER_RATE_PER_TOKEN = env.str("ADAPTER_RATE_PER_TOKEN", default="600/min")
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Contact center ↔ Kustomer integration portal API",
    "DESCRIPTION": (
        "Events from the contact center, agent status, adapter and configuration endpoints. "
        "Machine clients authenticate with `Authorization: Bearer <tenant API key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The contract is public; what it describes still needs a key.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One name for a choice set that several fields use (the connection's states).
    "ENUM_NAME_OVERRIDES": {"ConnectionStateEnum": "integrations.models.KustomerConnection.VerifyState"},
    "COMPONENT_SPLIT_REQUEST": True,
    # Serve Swagger UI's files ourselves: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# A request body larger than this is refused (413) before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
# One queue per deployment (tests give each run its own, so runs never share work).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The worker's pool (docs/concurrency.md): a sync task spends nearly all its time
# waiting for Kustomer, so one process runs CELERY_WORKER_CONCURRENCY tasks in threads
# (each thread its own database connection and HTTP session). `celery worker` reads
# both when no --pool / --concurrency is given; run_stack, bench/ and the e2e tests pass
# them from here. "prefork" (one process per task) stays available.
CELERY_WORKER_POOL = env.str("CELERY_WORKER_POOL", default="threads")
CELERY_WORKER_CONCURRENCY = env.int(
    "CELERY_WORKER_CONCURRENCY", default=4 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 16)
# Celery's Django fix-up would close every database connection before and after each
# task (a new PostgreSQL connection per event, ~5 ms of CPU); the task signals in
# portal/celery.py do what Django's request cycle does instead: close only a connection
# that is broken, in a failed transaction, or older than CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 1_000_000_000
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Redis redelivers an unacknowledged task after this many seconds; it must exceed the
# longest task plus its countdown, or a slow task would run twice at once.
# (The SQLAlchemy transport hands its options to create_engine, so only Redis gets it.)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": 3600, "socket_connect_timeout": 2, "socket_timeout": 5}
    if CELERY_BROKER_URL.startswith("redis")
    else {}
)
# A request that hands work to a broker which is down must answer quickly: the row is
# already committed and the sweepers send it later (core/queue.py).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}  # plus each app's <app>/schedule.py (portal/celery.py)
# Beat skips a tick whose previous one is still queued or running (portal/beat.py).
CELERY_BEAT_SCHEDULER = "portal.beat:Scheduler"

# --- Kustomer -------------------------------------------------------------------------
# Where the per-org request budget lives: shared by every worker on every machine.
# Redis when the broker is Redis, else an SQLite file that every local process shares.
_default_ratelimit = (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else f"sqlite:///{VAR_DIR / 'kustomer-ratelimit.sqlite3'}"
)
KUSTOMER_RATE_LIMIT_URL = env.str("KUSTOMER_RATE_LIMIT_URL", default=_default_ratelimit)
KUSTOMER_TIMEOUT_SECONDS = env.float("KUSTOMER_TIMEOUT_SECONDS", default=10.0)
# A connection check ends (Verified or Failed) within this many seconds; one still
# Verifying this much longer (no worker took it) is shown Failed.
KUSTOMER_VERIFY_DEADLINE_SECONDS = env.float("KUSTOMER_VERIFY_DEADLINE_SECONDS", default=15.0)
KUSTOMER_VERIFY_GRACE_SECONDS = env.float("KUSTOMER_VERIFY_GRACE_SECONDS", default=10.0)
KUSTOMER_DEFAULT_RATE_LIMIT_PER_MINUTE = env.int("KUSTOMER_DEFAULT_RATE_LIMIT_PER_MINUTE", default=1000)
# Hosts besides *.kustomerapp.com that a tenant's Kustomer base URL may point to (the
# sandbox, a proxy). Production lists none unless the operator adds them.
KUSTOMER_EXTRA_API_HOSTS = env.list("KUSTOMER_EXTRA_API_HOSTS", default=["127.0.0.1", "localhost"])

# --- R-O3 custom field backfill ---------------------------------------------------------
# A backfill sends only while the org's current window holds fewer requests than this
# share of its budget: the rest is the live events' reserve (they go first).
CUSTOMFIELDS_BACKFILL_BUDGET_SHARE = env.float("CUSTOMFIELDS_BACKFILL_BUDGET_SHARE", default=0.5)
# One run of a backfill works this long, then goes to the back of its queue.
CUSTOMFIELDS_BACKFILL_SLICE_SECONDS = env.float("CUSTOMFIELDS_BACKFILL_SLICE_SECONDS", default=5.0)
# A Celery queue of its own for backfills ("" = the default queue); its workers then
# never hold up a live event.
CUSTOMFIELDS_BACKFILL_QUEUE = env.str("CUSTOMFIELDS_BACKFILL_QUEUE", default="")
KUSTOMER_SANDBOX_URL = env.str("KUSTOMER_SANDBOX_URL", default="http://127.0.0.1:8765")

# --- Sync backend ---------------------------------------------------------------------
# Files the backend fetches (recordings, SmartAction files) must be on public addresses
# unless the operator allows private ones (the sandbox and the demo serve from loopback);
# an allow-list of hosts ("*.example.com" for a domain) narrows it further.
SYNC_FETCH_ALLOW_PRIVATE = env.bool("SYNC_FETCH_ALLOW_PRIVATE", default=False)
SYNC_FETCH_ALLOWED_HOSTS = env.list("SYNC_FETCH_ALLOWED_HOSTS", default=[])
# A fetched file's size and time bounds.
SYNC_FETCH_MAX_BYTES = env.int("SYNC_FETCH_MAX_BYTES", default=25 * 1024 * 1024)
SYNC_FETCH_TIMEOUT_SECONDS = env.float("SYNC_FETCH_TIMEOUT_SECONDS", default=20.0)
# The event executor (conversations/README.md has the table): how long one task applies
# a customer's queue; transient failures (5xx, timeouts, fetch errors; 429s do not count)
# before an event is failed (with backoff up to 10 minutes, 24 is about an hour and a
# half of Kustomer outage); how old the webhook mirror of a conversation may be and still
# decide a join; the sweeper's deadline for accepted or processing events; the wait before
# asking Kustomer again for a refused webhook subscription; how long finished events are
# kept (never under 30 days).
SYNC_DRAIN_SECONDS = env.float("SYNC_DRAIN_SECONDS", default=60.0)
SYNC_MAX_TRANSIENT_FAILURES = env.int("SYNC_MAX_TRANSIENT_FAILURES", default=24)
SYNC_MIRROR_FRESH_SECONDS = env.float("SYNC_MIRROR_FRESH_SECONDS", default=5.0)
SYNC_SWEEP_AFTER_SECONDS = env.float("SYNC_SWEEP_AFTER_SECONDS", default=120.0)
SYNC_WEBHOOK_RETRY_SECONDS = env.float("SYNC_WEBHOOK_RETRY_SECONDS", default=600.0)
SYNC_EVENT_RETENTION_DAYS = env.int("SYNC_EVENT_RETENTION_DAYS", default=90)
# Fairness between tenants (docs/concurrency.md): at most SYNC_TENANT_IN_FLIGHT of a
# tenant's customers are applied at once across every worker (4 carry ~1,400 Kustomer
# requests/min at 150 ms a request, more than an org's budget); an event beyond that
# waits parked, off the workers, and is handed on when one of the tenant's slots frees.
# A request waits at most SYNC_BUDGET_WAIT_SECONDS in a worker for the org's budget or
# a 429 pause; a longer wait gives the worker back and the event is re-queued for then.
SYNC_TENANT_IN_FLIGHT = env.int("SYNC_TENANT_IN_FLIGHT", default=4)
SYNC_BUDGET_WAIT_SECONDS = env.float("SYNC_BUDGET_WAIT_SECONDS", default=5.0)
# CCAI Platform session events: seconds a session that ended with an agent no delivery
# showed connected waits for a late delivery before it is decided as abandoned.
CCAIP_SETTLE_SECONDS = env.float("CCAIP_SETTLE_SECONDS", default=60.0)
# A fetch ends within its deadline (redirects included) however slowly the server drips,
# is stopped when it brings less than the minimum rate, and each tenant has at most
# SYNC_FETCH_PER_TENANT fetches under way at once (keep it below the worker count, so
# one tenant's slow file server cannot hold every worker).
SYNC_FETCH_DEADLINE_SECONDS = env.float("SYNC_FETCH_DEADLINE_SECONDS", default=60.0)
SYNC_FETCH_MIN_BYTES_PER_SECOND = env.int("SYNC_FETCH_MIN_BYTES_PER_SECOND", default=8 * 1024)
SYNC_FETCH_PER_TENANT = env.int("SYNC_FETCH_PER_TENANT", default=2)
# A file fetched while its event runs gets this long at most (it holds the customer's
# line meanwhile); one that does not answer in time is written later, on its own, with
# the full deadline and backoff, SYNC_LATE_FILE_MAX_ATTEMPTS tries in all
# (conversations/services/late_files.py).
SYNC_FETCH_INLINE_DEADLINE_SECONDS = env.float("SYNC_FETCH_INLINE_DEADLINE_SECONDS", default=10.0)
SYNC_LATE_FILE_MAX_ATTEMPTS = env.int("SYNC_LATE_FILE_MAX_ATTEMPTS", default=6)
# Agent status: how often beat wakes the Kustomer work-session watcher (it then decides
# per tenant whether its interval is due), and how long an adapter instance stays live
# without a heartbeat (R-S6).
STATUS_WATCH_TICK_SECONDS = env.float("STATUS_WATCH_TICK_SECONDS", default=1.0)
ADAPTER_INSTANCE_TTL_SECONDS = env.int("ADAPTER_INSTANCE_TTL_SECONDS", default=30)
# An adapter sign-in ends this long after it started, however often its token was renewed.
ADAPTER_SESSION_MAX_AGE_SECONDS = env.int("ADAPTER_SESSION_MAX_AGE_SECONDS", default=12 * 3600)
# Each web process keeps an API key that authenticated for this long (the secret is
# still checked on every request). The bound on how long a key revoked, or a tenant
# configuration changed, in one process goes unnoticed by the others; 0 reads the key
# row on every request.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5.0)
# The status engine's copy of a tenant's configuration is read again after this long
# even without a version bump (the bound for changes made behind the services' back).
STATUS_CONFIG_MAX_AGE_SECONDS = env.float("STATUS_CONFIG_MAX_AGE_SECONDS", default=30.0)
# Pages allowed to frame the agent adapter and to talk to it by postMessage: Kustomer's
# hosts, plus the sandbox's demo host page on loopback outside production.
ADAPTER_HOST_ORIGINS = env.list(
    "ADAPTER_HOST_ORIGINS", default=["https://*.kustomerapp.com", "http://127.0.0.1:*", "http://localhost:*"]
)

# --- The Kustomer app (SPEC R-X4) -------------------------------------------------------
# The product's app version: registering a greater one offers every tenant's org the
# upgrade (Kustomer versions are semver and immutable once registered).
KUSTOMER_APP_VERSION = env.str("KUSTOMER_APP_VERSION", default="1.0.0")
# The external queue the voice app declares (meta.externalQueue, Kustomer's Voice / VoIP guide).
KUSTOMER_APP_EXTERNAL_QUEUE = env.str("KUSTOMER_APP_EXTERNAL_QUEUE", default="Contact Center")
# Kustomer's Cards SDK; in development point it at the sandbox's stand-in
# (http://127.0.0.1:8765/__sandbox/card-js/kustomer-card.min.js).
KUSTOMER_CARDS_SDK_URL = env.str(
    "KUSTOMER_CARDS_SDK_URL", default="https://cdn.kustomerapp.com/card-js/latest/kustomer-card.min.js"
)

# --- Operations: logs, metrics, health ---------------------------------------------
# LOG_FORMAT=json writes one JSON object a line (time, level, logger, message, tenant,
# event); "plain" is for people. Either way every line of a sync task names its tenant
# and event (core.logging.log_context).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "core.logging.RedactSecretsFilter"},
        "log_context": {"()": "core.logging.LogContextFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s%(context)s %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["redact_secrets", "log_context"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # One line per task received/succeeded drowns everything else (the status watcher
        # runs every few seconds); failures and retries still log at WARNING and above.
        "celery.app.trace": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        "celery.worker.strategy": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        # Beat logs every tick it sends at INFO: the watcher's tick is once a second.
        "celery.beat": {"level": env.str("CELERY_BEAT_LOG_LEVEL", default="WARNING")},
    },
}
# Workers log through the same handler (format, redaction, tenant and event ids)
# instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# GET /metrics (Prometheus): allowed with `Authorization: Bearer <METRICS_TOKEN>` when a
# token is set, or from an address in METRICS_ALLOWED_NETWORKS (CIDR; the address the
# web server sees, so a proxy in front counts as its own address).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
# Counts made in web, worker and beat processes are written to files here and added up
# at each scrape (prometheus_client's multiprocess mode). It must be set before any
# metric exists, hence the environment; empty it when the deployment starts
# (`run_stack` does).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "metrics"))
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
