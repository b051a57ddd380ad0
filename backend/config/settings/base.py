"""Settings shared by every environment. Values come from the environment (config/env.py).

The defaults describe the embedded stack: one machine, SQLite, the in-memory channel
layer and SeaweedFS `weed mini` on loopback. Production (settings/production.py) refuses
to start without its secrets.
"""

from __future__ import annotations

from pathlib import Path

from backend.config.client_address import networks_parse
from backend.config.env import (
    ConfigurationError,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_optional,
    env_str,
)
from backend.config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parents[3]
VAR_DIR = Path(env_str("FV_VAR_DIR", str(BASE_DIR / "var")))

# The embedded stack's well-known defaults: production refuses every one of them
# (backend/config/checks.py, `manage.py check --deploy` fails).
EMBEDDED_SECRET_KEY = "embedded-insecure-key-change-me-in-production"  # noqa: S105
EMBEDDED_S3_CREDENTIALS = {
    "fieldvault-embedded",
    "fieldvault-embedded-secret",
    "fieldvault-embedded-destruction",
    "fieldvault-embedded-destruction-secret",
}
SECRET_KEY = env_str("DJANGO_SECRET_KEY", EMBEDDED_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Reverse proxies (IPs or CIDR blocks) whose X-Forwarded-For is believed for the client's
# address (sign-in throttle, access register). Empty: the header is ignored.
FV_TRUSTED_PROXIES = env_list("FV_TRUSTED_PROXIES", [])
try:
    networks_parse(FV_TRUSTED_PROXIES)
except ValueError as exc:
    raise ConfigurationError(f"FV_TRUSTED_PROXIES: {exc}") from exc

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",  # Swagger UI / ReDoc served from the django-ninja wheel's static files, no CDN
    "django_tasks",
    "django_tasks_db",
    "backend.accounts",
    "backend.audit",
    "backend.devices",
    "backend.footage",
    "backend.retention",
    "sync",
    "backend.review",
    "backend.enforcement",
    "backend.coverage",
    "sync.records",
    "backend.corrections",
    "backend.inspections",
    "backend.workcalendar",
    "backend.integrity",
    "backend.cases",
    "backend.publication",
    "backend.caselibrary",
    "backend.operations",  # health, readiness, metrics, manage.py doctor (no models)
    "backend.wiring",  # last: connects every cross-app reaction (backend/wiring/registry.py)
]

MIDDLEWARE = [
    "backend.config.logs.RequestIdMiddleware",
    "backend.config.request_metrics.ResponseCountMiddleware",  # 4xx/5xx per route (/metrics)
    "django.middleware.security.SecurityMiddleware",
    "backend.config.content_security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost: a page's POST-only address asked for with GET redirects to its page.
    "backend.web.post_only.PostOnlyRedirectMiddleware",
]

ROOT_URLCONF = "backend.config.urls"
ASGI_APPLICATION = "backend.config.asgi.application"
WSGI_APPLICATION = "backend.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'fieldvault.sqlite3'}")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "backend" / "locale"]
TIME_ZONE = env_str("FV_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

SESSION_COOKIE_AGE = env_int("FV_SESSION_SECONDS", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False

# Channels: Redis when configured (N web processes), in-memory for the embedded stack.
REDIS_URL = env_optional("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("FV_CHANNEL_PREFIX", "fv")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

TASKS = {
    "default": {
        # django-tasks-db, keeping the enqueuing request's id with each job (logs).
        "BACKEND": env_str("FV_TASKS_BACKEND", "backend.config.tasks_backend.DatabaseBackend"),
        "QUEUES": ["default", "storage", "media"],
    }
}

# Object storage (any S3). Originals go to a bucket with Object Lock in COMPLIANCE mode.
FV_S3_ENDPOINT_URL = env_str("FV_S3_ENDPOINT_URL", "http://127.0.0.1:8333")
FV_S3_REGION = env_str("FV_S3_REGION", "us-east-1")
FV_S3_ACCESS_KEY = env_str("FV_S3_ACCESS_KEY", "fieldvault-embedded")
FV_S3_SECRET_KEY = env_str("FV_S3_SECRET_KEY", "fieldvault-embedded-secret")
# A second S3 identity, used by retention destruction alone: the application's own may
# write and read but never delete an original (ops/seaweed.py, ops/s3.json.example).
FV_S3_DESTRUCTION_ACCESS_KEY = env_str(
    "FV_S3_DESTRUCTION_ACCESS_KEY", "fieldvault-embedded-destruction"
)
FV_S3_DESTRUCTION_SECRET_KEY = env_str(
    "FV_S3_DESTRUCTION_SECRET_KEY", "fieldvault-embedded-destruction-secret"
)
FV_ORIGINALS_BUCKET = env_str("FV_ORIGINALS_BUCKET", "fv-originals")
FV_DERIVATIVES_BUCKET = env_str("FV_DERIVATIVES_BUCKET", "fv-derivatives")
FV_ORIGINAL_RETENTION_DAYS = env_int("FV_ORIGINAL_RETENTION_DAYS", 180)
# Positions of correction subjects (行踪轨迹) are kept this long, then purged
# (`manage.py corrections_positions_purge`, run daily).
FV_POSITION_RETENTION_DAYS = env_int("FV_POSITION_RETENTION_DAYS", 365)
FV_PRESIGNED_URL_SECONDS = env_int("FV_PRESIGNED_URL_SECONDS", 300)
# Continuous backup of the embedded SQLite database (Litestream, ops/litestream.py): the
# same variables that process reads; the storage page shows the replica's last position.
FV_BACKUP_BUCKET = env_str("FV_BACKUP_BUCKET", "fv-db-backup")
FV_BACKUP_PATH = env_str("FV_BACKUP_PATH", "fieldvault-sqlite")
FV_BACKUP_S3_ENDPOINT_URL = env_str("FV_BACKUP_S3_ENDPOINT_URL", FV_S3_ENDPOINT_URL)
FV_BACKUP_S3_ACCESS_KEY = env_str("FV_BACKUP_S3_ACCESS_KEY", FV_S3_ACCESS_KEY)
FV_BACKUP_S3_SECRET_KEY = env_str("FV_BACKUP_S3_SECRET_KEY", FV_S3_SECRET_KEY)
# Originals on a second site (backend/retention/replication.py): every stored original is
# copied, with the same COMPLIANCE lock, to this bucket of this S3 (another site's); the
# bucket is created with Object Lock when absent. Empty bucket: one site (the embedded
# default), as the storage page says. FV_ORIGINALS_REPLICA_TARGET names the site there.
FV_ORIGINALS_REPLICA_BUCKET = env_str("FV_ORIGINALS_REPLICA_BUCKET", "")
# Endpoint, region and keys left empty: those of the originals' own S3 (FV_S3_*).
FV_ORIGINALS_REPLICA_S3_ENDPOINT_URL = env_str("FV_ORIGINALS_REPLICA_S3_ENDPOINT_URL", "")
FV_ORIGINALS_REPLICA_S3_REGION = env_str("FV_ORIGINALS_REPLICA_S3_REGION", "")
FV_ORIGINALS_REPLICA_S3_ACCESS_KEY = env_str("FV_ORIGINALS_REPLICA_S3_ACCESS_KEY", "")
FV_ORIGINALS_REPLICA_S3_SECRET_KEY = env_str("FV_ORIGINALS_REPLICA_S3_SECRET_KEY", "")
FV_ORIGINALS_REPLICA_TARGET = env_str("FV_ORIGINALS_REPLICA_TARGET", "")
# The storage page warns (and ops/prometheus/alerts.yml alerts) above this replication lag.
FV_ORIGINALS_REPLICA_LAG_ALERT_SECONDS = env_int("FV_ORIGINALS_REPLICA_LAG_ALERT_SECONDS", 900)
# /metrics (backend/operations): loopback clients, or this bearer token when set.
FV_METRICS_TOKEN = env_str("FV_METRICS_TOKEN", "")
# /readyz: the staging disk must keep this much free (uploads land there before S3).
FV_READY_MIN_FREE_BYTES = env_int("FV_READY_MIN_FREE_BYTES", 1024**3)
# /readyz: some worker and some scheduler touched their heartbeat within this (ops/heartbeat.py).
FV_READY_HEARTBEAT_SECONDS = env_int("FV_READY_HEARTBEAT_SECONDS", 60)
# TLS (ops/tls.py, `manage.py tls_ca`): the reverse proxy's server certificate and the
# internal CA devices pin (empty: not configured; doctor warns, enrolment sends no CA).
FV_TLS_CERT_FILE = env_str("FV_TLS_CERT_FILE", "")
FV_TLS_CA_FILE = env_str("FV_TLS_CA_FILE", "")
FV_TLS_WARN_DAYS = env_int("FV_TLS_WARN_DAYS", 30)
# `manage.py doctor`: time source, allowed clock offset, backup age, object store disk.
FV_NTP_SERVER = env_str("FV_NTP_SERVER", "")  # host or host:port, queried by SNTP
FV_NTP_TIMEOUT_SECONDS = env_int("FV_NTP_TIMEOUT_SECONDS", 2)
FV_CLOCK_MAX_OFFSET_MS = env_int("FV_CLOCK_MAX_OFFSET_MS", 1000)
FV_BACKUP_MAX_AGE_SECONDS = env_int("FV_BACKUP_MAX_AGE_SECONDS", 3600)
FV_OBJECT_STORE_DIR = env_str("FV_OBJECT_STORE_DIR", str(VAR_DIR / "seaweedfs"))

# Device sync.
FV_STAGING_DIR = Path(env_str("FV_STAGING_DIR", str(VAR_DIR / "staging")))
FV_UPLOAD_MAX_BYTES = env_int("FV_UPLOAD_MAX_BYTES", 16 * 1024**3)
FV_UPLOAD_EXPIRY_SECONDS = env_int("FV_UPLOAD_EXPIRY_SECONDS", 7 * 24 * 3600)
FV_MANIFEST_MAX_CLIPS = env_int("FV_MANIFEST_MAX_CLIPS", 20_000)
# Clips reconciled per transaction: bounds how long a manifest holds SQLite's write lock.
FV_MANIFEST_CHUNK_CLIPS = env_int("FV_MANIFEST_CHUNK_CLIPS", 1000)
# A device clock further than this from the server's is refused (400). Wide on purpose: a
# camera whose battery died restarts at its epoch (1970/2000) and must still sync.
FV_DEVICE_CLOCK_MAX_OFFSET_DAYS = env_int("FV_DEVICE_CLOCK_MAX_OFFSET_DAYS", 100 * 366)
FV_STORAGE_MAX_ATTEMPTS = env_int("FV_STORAGE_MAX_ATTEMPTS", 50)
# Short, renewed by a heartbeat while the S3 write runs: a crash costs seconds (issue 14).
FV_STORAGE_LEASE_SECONDS = env_int("FV_STORAGE_LEASE_SECONDS", 30)
# The write lease of one upload (renewed while the body streams in).
FV_UPLOAD_LOCK_LEASE_SECONDS = env_int("FV_UPLOAD_LOCK_LEASE_SECONDS", 15)
# At process start, release the upload and storage leases of dead processes of this host.
FV_LEASES_RELEASE_AT_START = env_bool("FV_LEASES_RELEASE_AT_START", True)
# Staging admission at the manifest (sync/staging_admission.py). Quota 0: none beyond
# the disk; headroom: free space always kept; per-device and per-clip caps on staged bytes.
FV_STAGING_QUOTA_BYTES = env_int("FV_STAGING_QUOTA_BYTES", 0)
FV_STAGING_HEADROOM_BYTES = env_int("FV_STAGING_HEADROOM_BYTES", 512 * 1024**2)
FV_STAGING_DEVICE_MAX_BYTES = env_int("FV_STAGING_DEVICE_MAX_BYTES", 64 * 1024**3)
FV_STAGING_UPLOAD_MAX_BYTES = env_int("FV_STAGING_UPLOAD_MAX_BYTES", FV_UPLOAD_MAX_BYTES)
# Receiving uploads without progress for this many days are reclaimed (never a stored one).
FV_STAGING_ABANDON_DAYS = env_int("FV_STAGING_ABANDON_DAYS", 3)

# Media processing (footage/processing.py, worker: `manage.py fieldvault_worker`).
FV_PROCESS_AFTER_STORE = env_bool("FV_PROCESS_AFTER_STORE", True)
FV_PROCESSING_LEASE_SECONDS = env_int("FV_PROCESSING_LEASE_SECONDS", 120)  # renewed while alive
FV_PROCESSING_MAX_ATTEMPTS = env_int("FV_PROCESSING_MAX_ATTEMPTS", 5)
FV_PROCESSING_BACKOFF_SECONDS = env_int("FV_PROCESSING_BACKOFF_SECONDS", 30)  # doubles per attempt
FV_PROCESSING_BACKOFF_MAX_SECONDS = env_int("FV_PROCESSING_BACKOFF_MAX_SECONDS", 3600)
# A queued job not claimed within this time is queued again (lost queue rows).
FV_PROCESSING_REQUEUE_SECONDS = env_int("FV_PROCESSING_REQUEUE_SECONDS", 1800)
FV_PROCESSING_WORKDIR = env_optional("FV_PROCESSING_WORKDIR")  # default: the system temp dir
# Threads per ffmpeg run in a worker (integrity decode, transcode); 0 = every core. A machine
# running W workers side by side: cores / W (ops.scaleout sets it so).
FV_MEDIA_THREADS = env_int("FV_MEDIA_THREADS", 0)
FV_WORKER_REDRIVE_SECONDS = env_int("FV_WORKER_REDRIVE_SECONDS", 30)
# File creation time vs device-reported start: beyond this the disagreement is flagged.
FV_FILE_TIME_TOLERANCE_SECONDS = env_int("FV_FILE_TIME_TOLERANCE_SECONDS", 120)

# Coverage check: a recording links to an activity of its officer when it overlaps the
# activity's window widened by this many seconds on each side.
FV_COVERAGE_LINK_BUFFER_SECONDS = env_int("FV_COVERAGE_LINK_BUFFER_SECONDS", 120)

# Integrity (backend/integrity): each local day's Merkle root over the recordings stored and
# the audit chain, timestamped by an RFC 3161 TSA. Without FV_TSA_URL the embedded stack
# runs a local test TSA (provenance/local_tsa.py) and trusts its CA; in production name a
# national or commercial TSA and its CA certificate(s) (PEM) as the trust anchor.
FV_TSA_URL = env_optional("FV_TSA_URL")
FV_TSA_TRUST_ANCHOR = env_optional("FV_TSA_TRUST_ANCHOR")
FV_TSA_TIMEOUT_SECONDS = env_int("FV_TSA_TIMEOUT_SECONDS", 20)
FV_INSTALLATION_NAME = env_str("FV_INSTALLATION_NAME", "FieldVault")
# A day is sealed this long after its local midnight (storage running across midnight).
FV_INTEGRITY_GRACE_SECONDS = env_int("FV_INTEGRITY_GRACE_SECONDS", 600)
# Day files (statement, token, CA) are written here, append-only: never overwritten.
FV_INTEGRITY_PUBLISH_DIR = Path(
    env_str("FV_INTEGRITY_PUBLISH_DIR", str(VAR_DIR / "integrity" / "published"))
)

# Logs (backend/config/logs.py): JSON lines with the request id (FV_LOG_FORMAT=json; plain
# lines otherwise), secrets and tokens redacted on every handler.
FV_LOG_FORMAT = env_str("FV_LOG_FORMAT", "plain")
LOGGING = logging_config(json_lines=FV_LOG_FORMAT == "json", level=env_str("FV_LOG_LEVEL", "INFO"))

# After an upload is verified: "thread" stores it at once in the web process, "sync" in the
# request (tests), "redrive" leaves it to the worker's periodic pass.
FV_STORE_DISPATCH = env_str("FV_STORE_DISPATCH", "thread")
# How many threads of the web process store verified clips ("thread" dispatch). They wait
# on S3 and PostgreSQL most of the time (the after-stored reactions run there too): with 2,
# a 12-device soak on 2 loaded cores queued 41 verified clips, the oldest 45 s. Each uses
# one pooled connection (FV_DB_POOL_MAX) while it stores.
FV_STORE_THREADS = env_int("FV_STORE_THREADS", 4)
FV_SERVE_STATIC = env_bool("FV_SERVE_STATIC", True)

# A 20,000-clip manifest is ~7 MB of JSON; uploads never pass through Django (sync/tus).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("FV_MAX_JSON_BYTES", 12 * 1024 * 1024)
# Any request body Django gets (JSON, forms, the 20 MB file imports): refused with 413 before
# it is read and before authentication (backend/config/body_limit.py).
FV_MAX_REQUEST_BYTES = env_int("FV_MAX_REQUEST_BYTES", 24 * 1024 * 1024)

# Case numbers (一案一卷一号): the format and the default prefix (backend/cases).
FV_CASE_NUMBER_FORMAT = env_str("FV_CASE_NUMBER_FORMAT", "{prefix}〔{year}〕{sequence}号")
FV_CASE_NUMBER_PREFIX = env_str("FV_CASE_NUMBER_PREFIX", "司罚")
# 纠错 on the public site: reports accepted per address and hour (no captcha; throttled).
FV_PUBLIC_REPORTS_PER_HOUR = env_int("FV_PUBLIC_REPORTS_PER_HOUR", 5)
