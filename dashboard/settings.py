"""The one settings module.

Every deploy-specific value is read once from the environment here, with a default that runs
on a fresh clone: SQLite, a filesystem Celery broker that needs no server, and the bundled
Kuscia simulator's certificates under var/. Production sets DJANGO_ENV=production,
DJANGO_SECRET_KEY, DATABASE_URL, REDIS_URL and the KUSCIA_* variables (see README).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KC_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value.strip() else default


PRODUCTION = os.environ.get("DJANGO_ENV", "development") == "production"
# Off unless asked for (KC_DEBUG=1): Django's debug pages list every URL pattern and the
# settings, and `make run` is what people expose first.
DEBUG = env_bool("KC_DEBUG", False)

if PRODUCTION:
    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
else:
    SECRET_KEY = os.environ.get(
        "DJANGO_SECRET_KEY", "dev-only-insecure-key-kuscia-console-change-me-in-production"
    )

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "*").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    # Ours first where they override contrib templates (accounts' registration pages).
    "dashboard",
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "audit",
    "connections",
    "jobs",
    "operate",
    "network",
    "alerts",
    "logs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.middleware.SecurityHeadersMiddleware",
    "accounts.middleware.RejectNulMiddleware",  # a NUL in a query would be a 500 on PostgreSQL
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # cookie, else Accept-Language, else default
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.PreferenceMiddleware",  # the user's saved language and time zone
    "accounts.middleware.HtmxLoginRequiredMiddleware",  # LoginRequired + HX-Redirect for htmx
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.middleware.CleanQueryMiddleware",  # filter pages' URLs without empty parameters
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.roles.roles_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default has three writers (web, poller, watcher): WAL lets readers run
    # beside a writer, and IMMEDIATE transactions wait for the write lock (up to `timeout`)
    # instead of failing with "database is locked" when a read lock cannot be upgraded.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The user's preferences (language, time zone) come with the user's one query per request.
# Django's ModelBackend stays listed for sessions signed in before it (it never checks a
# password: the first backend ends a failed sign-in).
AUTHENTICATION_BACKENDS = [
    "accounts.backends.PreferenceModelBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Language and time (README "Languages and time zones") ---
# A page's language: the signed-in user's saved preference (accounts.middleware), else the
# language cookie the header's switcher sets, else the browser's Accept-Language, else
# LANGUAGE_CODE. URLs carry no language prefix: a shared link opens in the reader's language.
# Each app keeps its own catalogue in <app>/locale/zh_Hans/LC_MESSAGES/django.po; the compiled
# .mo files are built by `manage.py catalogues compile` (pure Python, no GNU gettext needed).
USE_I18N = True
LANGUAGE_CODE = os.environ.get("DJANGO_LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# Our catalogues before Django's own (its admin says "动作" for "Action", where we say "操作"):
# LOCALE_PATHS take precedence over the apps' catalogues, which Django would otherwise rank by
# INSTALLED_APPS, contrib apps before ours.
LOCALE_PATHS = sorted(path for path in BASE_DIR.glob("*/locale") if path.is_dir())
LANGUAGE_COOKIE_NAME = "kc_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = PRODUCTION
# Stored in UTC; shown in the user's zone (their preference, else this one). `make run` sets
# DJANGO_TIME_ZONE to the machine's zone.
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "") or "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
# Outside production WhiteNoise serves straight from the app's static folders (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # The task-log archive (logs/): a local folder by default; any Django storage backend,
    # e.g. django-storages' S3 (also OSS through its S3 API), with KC_LOG_STORAGE_BACKEND and
    # its options as JSON in KC_LOG_STORAGE_OPTIONS.
    "task_logs": {
        "BACKEND": os.environ.get(
            "KC_LOG_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": json.loads(
            os.environ.get("KC_LOG_STORAGE_OPTIONS", "")
            or json.dumps({"location": str(VAR_DIR / "logs")})
        ),
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security headers (production tightens cookies and HTTPS) ---
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# CSP without inline script (accounts.middleware.SecurityHeadersMiddleware).
CONTENT_SECURITY_POLICY = os.environ.get(
    "DJANGO_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Celery: Redis in production, a filesystem broker that needs no server otherwise ---
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
else:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://localhost/"  # a host name: kombu warns without one
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Kuscia: the default connection, read from the environment ---
KUSCIA_SIM_PORT = env_int("KUSCIA_SIM_PORT", 18082)
KUSCIA_API_URL = os.environ.get("KUSCIA_API_URL", f"https://127.0.0.1:{KUSCIA_SIM_PORT}")
KUSCIA_PROTOCOL = os.environ.get("KUSCIA_PROTOCOL", "MTLS").upper()
KUSCIA_CERT_DIR = os.environ.get("KUSCIA_CERT_DIR", str(VAR_DIR / "simulator-certs"))
KUSCIA_CA_FILE = os.environ.get("KUSCIA_CA_FILE", "")
KUSCIA_CERT_FILE = os.environ.get("KUSCIA_CERT_FILE", "")
KUSCIA_KEY_FILE = os.environ.get("KUSCIA_KEY_FILE", "")
KUSCIA_TOKEN_FILE = os.environ.get("KUSCIA_TOKEN_FILE", "")
KUSCIA_TLS_SERVER_NAME = os.environ.get("KUSCIA_TLS_SERVER_NAME", "")
KUSCIA_CONNECT_TIMEOUT = env_float("KUSCIA_CONNECT_TIMEOUT", 5.0)
KUSCIA_READ_TIMEOUT = env_float("KUSCIA_READ_TIMEOUT", 30.0)
KUSCIA_MODE = os.environ.get("KUSCIA_MODE", "centralized")
KUSCIA_LOCAL_DOMAIN = os.environ.get("KUSCIA_LOCAL_DOMAIN", "")
KUSCIA_POLL_SECONDS = env_float("KUSCIA_POLL_SECONDS", 5.0)
KUSCIA_BATCH_SIZE = env_int("KUSCIA_BATCH_SIZE", 200)

# --- Sync engine (jobs.sync, jobs.tasks): cadences, back-off, watch, schedule ---
KUSCIA_DEFAULT_CONNECTION = env_bool("KUSCIA_DEFAULT_CONNECTION", True)  # ensure_default()
KUSCIA_SLOW_POLL_SECONDS = env_float("KUSCIA_SLOW_POLL_SECONDS", 60.0)  # Failed/Suspended/recent
KUSCIA_RECENT_SECONDS = env_float("KUSCIA_RECENT_SECONDS", 600.0)  # "recently finished"
KUSCIA_RESTARTABLE_SECONDS = env_float("KUSCIA_RESTARTABLE_SECONDS", 86400.0)
KUSCIA_IDLE_POLL_SECONDS = env_float("KUSCIA_IDLE_POLL_SECONDS", 30.0)  # nothing active
KUSCIA_BACKOFF_MAX_SECONDS = env_float("KUSCIA_BACKOFF_MAX_SECONDS", 60.0)
KUSCIA_WATCH_SECONDS = env_int("KUSCIA_WATCH_SECONDS", 300)  # watch timeout_seconds
KUSCIA_SPECS_PER_CYCLE = env_int("KUSCIA_SPECS_PER_CYCLE", 50)  # QueryJob for specs not yet known
KUSCIA_POLL_LEASE_SECONDS = env_float("KUSCIA_POLL_LEASE_SECONDS", 30.0)  # renewed per chunk
KUSCIA_WATCH_LEASE_SECONDS = env_float("KUSCIA_WATCH_LEASE_SECONDS", 5.0)  # renewed every 1 s
KC_REDIS_PREFIX = os.environ.get("KC_REDIS_PREFIX", "")  # isolates broker keys and locks
# The overview's per-state counts and party activity (jobs.stats): recounted by beat this often;
# a page recounts itself only when the row is older than KC_STATS_MAX_AGE (beat not running).
KC_STATS_SECONDS = env_float("KC_STATS_SECONDS", 5.0)
KC_STATS_MAX_AGE = env_float("KC_STATS_MAX_AGE", 60.0)
# --- Task-log archive (logs/): followers on their own queue, caps, retention ---
KC_LOG_MAX_BYTES = env_int("KC_LOG_MAX_BYTES", 20 * 1024 * 1024)  # per party log of a task
KC_LOG_RETENTION_DAYS = env_float("KC_LOG_RETENTION_DAYS", 90.0)
KC_LOG_FOLLOWERS = env_int("KC_LOG_FOLLOWERS", 16)  # logs handed to followers at once
KC_LOG_PLAN_SECONDS = env_float("KC_LOG_PLAN_SECONDS", 5.0)  # beat: new logs, followers
KC_LOG_BACKFILL_DAYS = env_float("KC_LOG_BACKFILL_DAYS", 30.0)  # Kuscia's job GC: 30 days
KC_LOG_FLUSH_SECONDS = env_float("KC_LOG_FLUSH_SECONDS", 1.0)  # store new lines this often
KC_LOG_SEGMENT_BYTES = env_int("KC_LOG_SEGMENT_BYTES", 256 * 1024)
KC_LOG_END_GRACE_SECONDS = env_float("KC_LOG_END_GRACE_SECONDS", 7.0)  # Kuscia flushes every 5 s
KC_LOG_LEASE_SECONDS = env_float("KC_LOG_LEASE_SECONDS", 30.0)
# --- Network and data (network.poll): nodes and routes every KUSCIA_NETWORK_POLL_SECONDS, the
# data inventory (domain data, data sources, grants) every KUSCIA_NETWORK_INVENTORY_SECONDS ---
KUSCIA_NETWORK_POLL_SECONDS = env_float("KUSCIA_NETWORK_POLL_SECONDS", 15.0)
KUSCIA_NETWORK_INVENTORY_SECONDS = env_float("KUSCIA_NETWORK_INVENTORY_SECONDS", 300.0)
KUSCIA_NETWORK_DOMAINS = os.environ.get("KUSCIA_NETWORK_DOMAINS", "")  # extra domain ids, a,b
KUSCIA_NETWORK_PROBES = env_int("KUSCIA_NETWORK_PROBES", 30)  # new route pairs asked per cycle
CELERY_TASK_ROUTES = {
    "jobs.tasks.watch_kuscia": {"queue": "watch"},
    "alerts.tasks.*": {"queue": "alerts"},
    "logs.tasks.follow_log": {"queue": "logs"},
}
CELERY_BEAT_SCHEDULE = {
    "poll-kuscia": {
        "task": "jobs.tasks.poll_kuscia",
        "schedule": KUSCIA_POLL_SECONDS,
        "options": {"expires": max(KUSCIA_POLL_SECONDS * 2, 2.0)},
    },
    "watch-kuscia": {
        "task": "jobs.tasks.watch_kuscia",
        "schedule": env_float("KUSCIA_WATCH_CHECK_SECONDS", 2.0),  # a free watch lease: relaunch
        "options": {"expires": 10.0},
    },
    "poll-network": {
        "task": "network.tasks.poll_network",
        "schedule": KUSCIA_NETWORK_POLL_SECONDS,
        "options": {"expires": max(KUSCIA_NETWORK_POLL_SECONDS, 2.0)},
    },
    "refresh-job-stats": {
        "task": "jobs.tasks.refresh_job_stats",
        "schedule": KC_STATS_SECONDS,
        "options": {"expires": max(KC_STATS_SECONDS * 2, 2.0)},
    },
    "plan-logs": {
        "task": "logs.tasks.plan_logs",
        "schedule": KC_LOG_PLAN_SECONDS,
        "options": {"expires": max(KC_LOG_PLAN_SECONDS * 2, 2.0)},
    },
    "clean-logs": {
        "task": "logs.tasks.clean_logs",
        "schedule": env_float("KC_LOG_CLEAN_SECONDS", 3600.0),
        "options": {"expires": 600.0},
    },
}

# --- Alerts (alerts/): rules, incidents, channels, deliveries on the `alerts` queue ---
# The console's own address, for the absolute links in alert messages.
KC_BASE_URL = os.environ.get("KC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
KC_ALERTS_FILE = os.environ.get("KC_ALERTS_FILE", "")  # provisioning file (YAML), optional
KC_ALERTS_SWEEP_SECONDS = env_float("KC_ALERTS_SWEEP_SECONDS", 15.0)  # duration rules, file check
# An incident whose rule stops matching resolves only after this long without matching again,
# so a flapping subject sends one "firing" and one "resolved" message, not one per flap.
KC_ALERTS_GROUP_SECONDS = env_float("KC_ALERTS_GROUP_SECONDS", 120.0)
KC_ALERTS_HTTP_TIMEOUT = env_float("KC_ALERTS_HTTP_TIMEOUT", 10.0)  # per webhook call
KC_ALERTS_RETRY_SECONDS = env_float("KC_ALERTS_RETRY_SECONDS", 10.0)  # first back-off, doubling
KC_ALERTS_RETRY_MAX_SECONDS = env_float("KC_ALERTS_RETRY_MAX_SECONDS", 900.0)
KC_ALERTS_MAX_ATTEMPTS = env_int("KC_ALERTS_MAX_ATTEMPTS", 8)
# A delivery claimed (or queued) this long ago and not sent: its worker or task message was lost,
# the sweep queues it again (a delivery lost while *sending* is never sent again).
KC_ALERTS_LOST_SECONDS = env_float("KC_ALERTS_LOST_SECONDS", 30.0)
# A job first seen already ended (the watch's initial burst) alerts only if it ended this recently.
KC_ALERTS_FRESH_SECONDS = env_float("KC_ALERTS_FRESH_SECONDS", 600.0)
CELERY_BEAT_SCHEDULE["alerts-sweep"] = {
    "task": "alerts.tasks.sweep",
    "schedule": KC_ALERTS_SWEEP_SECONDS,
    "options": {"expires": max(KC_ALERTS_SWEEP_SECONDS * 2, 2.0)},
}
# E-mail (alert channels of kind email, "notify me when this job ends"): Django's SMTP backend.
# The password is read here only; it is never shown or logged.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "kuscia-console@localhost")

# --- Logging: one line per event (JSON in production, LOG_FORMAT=json|text), secrets redacted ---
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json" if PRODUCTION else "text")
REQUEST_LOG_LEVEL = os.environ.get("KC_REQUEST_LOG_LEVEL") or os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "accounts.logsafe.RedactingFilter"}},
    "formatters": {
        "json": {"()": "accounts.logsafe.JsonLineFormatter"},
        "text": {"()": "accounts.logsafe.TextLineFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # runserver's request lines and Django's 4xx warnings: through the console handler
        # like the rest, at KC_REQUEST_LOG_LEVEL (`make run` sets ERROR unless KC_VERBOSE=1).
        "django.server": {"level": REQUEST_LOG_LEVEL, "propagate": True},
        "django.request": {"level": REQUEST_LOG_LEVEL},
    },
}

# --- Sign-in throttling (accounts.throttle) and health thresholds (dashboard.health) ---
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)  # per username + client address
LOGIN_FAILURE_USER_LIMIT = env_int("LOGIN_FAILURE_USER_LIMIT", 20)  # per username
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 900)  # seconds
# Live connection checks (a TLS handshake, a watch and every route): per user and connection.
KC_CHECK_LIMIT = env_int("KC_CHECK_LIMIT", 6)
KC_CHECK_WINDOW = env_float("KC_CHECK_WINDOW", 60.0)  # seconds
# /healthz: a connection's data is stale after KC_HEALTH_MAX_SYNC_AGE seconds, or when that is 0
# (the default) after KC_HEALTH_STALE_POLLS of the longest poll interval (3 x 30 s idle = 90 s).
KC_HEALTH_MAX_SYNC_AGE = env_float("KC_HEALTH_MAX_SYNC_AGE", 0.0)
KC_HEALTH_STALE_POLLS = env_float("KC_HEALTH_STALE_POLLS", 3.0)
