"""Weerbaar settings: one module, every value from the environment.

DJANGO_ENV=development (the default) is the embedded set-up: SQLite in var/, Celery tasks run
in-process, a secret key generated once into var/. DJANGO_ENV=production demands every secret and
service address and refuses to start, naming the variable, when one is missing.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.embedded import SQLITE_OPTIONS
from config.env import env_bool, env_int, env_list, env_require, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("WEERBAAR_VAR_DIR", str(BASE_DIR / "var")))

ENVIRONMENT = env_str("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"De instelling DJANGO_ENV moet 'development' of 'production' zijn, niet {ENVIRONMENT!r}."
    )
PRODUCTION = ENVIRONMENT == "production"
# What production cannot start without (each is read again where it is used, below).
PRODUCTION_REQUIRED = (
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "WEERBAAR_CACHE_URL",
    "CELERY_BROKER_URL",
    "WEERBAAR_MASTER_KEYS",
    "WEERBAAR_BLIND_INDEX_KEY",
    "WEERBAAR_PSEUDONYM_KEY",
    "WEERBAAR_AUDIT_KEY",
    "WEERBAAR_BASE_URL",
)
if PRODUCTION:
    env_require(PRODUCTION_REQUIRED)


def _development_secret(filename: str) -> str:
    """A secret generated once into var/ (outside git) and reused; only for the embedded default."""
    path = VAR_DIR / filename
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# --- Core ----------------------------------------------------------------------------------------
if PRODUCTION:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=True)
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("De instelling DJANGO_SECRET_KEY moet minstens 50 tekens lang zijn.")
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY") or _development_secret("secret_key")

DEBUG = env_bool("DJANGO_DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG mag niet aan staan met DJANGO_ENV=production.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"], required=PRODUCTION)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "config.apps.WeerbaarAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "accounts",
    "privacy",
    "audit",
    "signals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.MethodNotAllowedPageMiddleware",  # inside CSP: its page gets the policy too
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that a locked-out login attempt gets the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.navigation",
                "accounts.context_processors.session_timeout",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------------
# Embedded default: SQLite in var/. Production: DATABASE_URL (PostgreSQL).
_database_url = env_str("DATABASE_URL", required=PRODUCTION)
if PRODUCTION and urlsplit(_database_url).scheme not in {"postgres", "postgresql", "pgsql"}:
    raise ImproperlyConfigured(
        "DATABASE_URL moet in productie naar PostgreSQL wijzen: postgres://gebruiker@host:5432/naam."
    )
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "weerbaar.sqlite3",
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The statements every service write sends (privacy.sql.write_cursor) are prepared on PostgreSQL,
# once per connection. Behind a pooler in transaction mode that cannot keep prepared statements
# (PgBouncer before 1.21, or without max_prepared_statements), set this to false.
WEERBAAR_PREPARED_WRITES = env_bool("WEERBAAR_PREPARED_WRITES", default=True)

# --- Cache: rate limits and lockouts of the public pages live here, so production shares one ---
_cache_url = env_str("WEERBAAR_CACHE_URL", required=PRODUCTION)
if _cache_url and urlsplit(_cache_url).scheme not in {"redis", "rediss", "unix"}:
    raise ImproperlyConfigured("WEERBAAR_CACHE_URL is een Redis-adres, zoals redis://127.0.0.1:6379/1.")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Authentication ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Axes first, so that a locked-out user is refused before any password is checked. Further
# backends (OIDC, SAML) go after it; see docs/login.md.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.WeerbaarModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

OTP_TOTP_ISSUER = env_str("WEERBAAR_OTP_ISSUER", "Weerbaar")
OTP_TOTP_THROTTLE_FACTOR = 1

# Lockout (django-axes): failures are counted per username, wrong password and wrong code alike.
AXES_FAILURE_LIMIT = env_int("WEERBAAR_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("WEERBAAR_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_VERBOSE = False  # its log lines would carry usernames and IP addresses
AXES_ENABLE_ADMIN = False
# axes would keep every successful login's address and browser, for ever; the product needs neither.
AXES_DISABLE_ACCESS_LOG = True
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token"]  # masked in what axes keeps of an attempt
# The client's address behind WEERBAAR_PROXY_COUNT trusted proxies (accounts/client_address.py).
WEERBAAR_PROXY_COUNT = env_int("WEERBAAR_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "accounts.client_address.client_address"

# Days a personal API token works before it must be made again.
WEERBAAR_API_TOKEN_DAYS = env_int("WEERBAAR_API_TOKEN_DAYS", 90)

# Roles that may not use the product without a verified second factor; see accounts/roles.py.
WEERBAAR_2FA_EXEMPT_ROLES = env_list("WEERBAAR_2FA_EXEMPT_ROLES", default=["reviewer", "norm_owner"])

# --- Sessions and cookies ------------------------------------------------------------------------
# Idle timeout: the cookie's age is renewed on every request, so it expires after this many idle
# minutes.
SESSION_IDLE_TIMEOUT_MINUTES = env_int("WEERBAAR_SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "config.views.csrf_failure"

# --- Security headers ----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A load balancer or orchestrator probes /health/ over plain HTTP on the backend; it carries no data.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("WEERBAAR_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("WEERBAAR_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("WEERBAAR_HSTS_PRELOAD", default=False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("WEERBAAR_BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS: list[str] = [
    # Lockout is per username on purpose: a municipality's staff share one outgoing IP address, so
    # locking by address would lock out a whole town hall after a few typos.
    "axes.W006",
]
if PRODUCTION and not env_bool("WEERBAAR_HSTS_PRELOAD", default=False):
    # Preloading is a decision for the organisation's domain, not for the product.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# Strict CSP: everything from our own origin, no inline script or style, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# History: reverting from the admin would bypass the workflow's state machine.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = False
# History is looked up per record (by id), never by date across records: no date index to write.
SIMPLE_HISTORY_DATE_INDEX = False

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", "Nederlands")]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static files --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("WEERBAAR_STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# The embedded default serves static files straight from the source folders (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

# --- E-mail --------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", default=False)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_FILE_PATH = env_str("DJANGO_EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
# A mail server that does not answer must not hold a worker for minutes (a timeout is an OSError:
# the tasks retry it).
EMAIL_TIMEOUT = env_int("DJANGO_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "weerbaar@localhost")

# --- Celery --------------------------------------------------------------------------------------
# Without a broker (the embedded default) tasks run in-process, at the moment they are queued.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", required=PRODUCTION)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "weerbaar")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("WEERBAAR_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("WEERBAAR_TASK_SOFT_TIME_LIMIT", 240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Tasks are queued from the web request, on commit. A broker that is down or stops answering must
# not hold that request: what the task does is in an outbox row or a sweep (nothing is lost), so
# the publish gives up after a bounded wait instead of retrying (and, on Redis, reading) forever.
WEERBAAR_BROKER_TIMEOUT = env_int("WEERBAAR_BROKER_TIMEOUT", 2)
CELERY_BROKER_CONNECTION_TIMEOUT = WEERBAAR_BROKER_TIMEOUT
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # The worker's BRPOP waits 1 s per poll, within these.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": WEERBAAR_BROKER_TIMEOUT,
        "socket_timeout": max(WEERBAAR_BROKER_TIMEOUT, 2),
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "accounts.tasks.clear_expired_sessions",
        "schedule": timedelta(hours=1),
    },
    "purge-expired-records": {
        "task": "privacy.tasks.purge_expired_records",
        "schedule": crontab(hour=2, minute=15),
    },
    "retention-reminders": {
        "task": "privacy.tasks.send_retention_reminders",
        "schedule": crontab(hour=7, minute=0),
    },
    "send-pending-activation-mails": {
        "task": "accounts.tasks.send_pending_activation_mails",
        "schedule": timedelta(minutes=5),
    },
    "send-pending-notifications": {
        "task": "signals.tasks.send_pending_notifications",
        "schedule": timedelta(minutes=5),
    },
    "send-pending-handler-notifications": {
        "task": "signals.tasks.send_pending_handler_notifications",
        "schedule": timedelta(minutes=5),
    },
    "destroy-expired-held-files": {
        "task": "signals.tasks.destroy_expired_held_files",
        "schedule": timedelta(hours=1),
    },
    "scan-pending-attachments": {
        "task": "signals.tasks.scan_pending_attachments",
        "schedule": timedelta(hours=1),
    },
    "verify-audit-chain": {
        "task": "audit.tasks.verify_audit_chain_nightly",
        "schedule": crontab(hour=3, minute=30),
    },
    "reindex-stale-subjects": {
        "task": "signals.tasks.reindex_stale_subjects",
        "schedule": crontab(hour=4, minute=0),
    },
}

# --- API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.IsVerifiedUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.views.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Weerbaar API",
    "DESCRIPTION": "API van Weerbaar. Alle gegevens zijn beperkt tot de eigen organisatie van de gebruiker.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_PERMISSIONS": ["accounts.api_auth.IsVerifiedUser"],
}

# --- Logging: ids and action names only, never personal data -------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("WEERBAAR_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django logs the full URL and, on errors, request details; URLs never hold personal data
        # here, but keep its chatter at warning level.
        "django.request": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# --- Keys (privacy/keyring.py). Production requires all four; the embedded default generates them
# once into var/keys.json. Master keys: "id:key,id:key", the first encrypts, all decrypt.
WEERBAAR_MASTER_KEYS = env_str("WEERBAAR_MASTER_KEYS", required=PRODUCTION)
WEERBAAR_BLIND_INDEX_KEY = env_str("WEERBAAR_BLIND_INDEX_KEY", required=PRODUCTION)
WEERBAAR_PSEUDONYM_KEY = env_str("WEERBAAR_PSEUDONYM_KEY", required=PRODUCTION)
WEERBAAR_AUDIT_KEY = env_str("WEERBAAR_AUDIT_KEY", required=PRODUCTION)
# Where the nightly chain check keeps the newest link of every chain, to compare with the next
# night: storage the database's administrators cannot change (not the database server's disk).
WEERBAAR_AUDIT_ANCHOR_FILE = Path(env_str("WEERBAAR_AUDIT_ANCHOR_FILE", str(VAR_DIR / "audit-anchor.json")))

MEDIA_ROOT = Path(env_str("WEERBAAR_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media-niet-publiek/"  # never served: files are encrypted and read through views

# --- Meldpunt (signals/) ---------------------------------------------------------------------------
WEERBAAR_ATTACHMENT_MAX_MB = env_int("WEERBAAR_ATTACHMENT_MAX_MB", 20)
WEERBAAR_ATTACHMENTS_TOTAL_MB = env_int("WEERBAAR_ATTACHMENTS_TOTAL_MB", 50)
# clamd for virus scanning: "host:port" or a Unix socket path; empty = no scanning
WEERBAAR_CLAMD_ADDRESS = env_str("WEERBAAR_CLAMD_ADDRESS")
WEERBAAR_CLAMD_TIMEOUT = env_int("WEERBAAR_CLAMD_TIMEOUT", 30)
# Files per signal; the form says so next to the field when more are chosen.
WEERBAAR_ATTACHMENTS_MAX_FILES = env_int("WEERBAAR_ATTACHMENTS_MAX_FILES", 10)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Django's own guard against a request with very many files (a generic 400 page): well above the
# product's limit, so a reporter who picks a few too many gets the form's message instead.
DATA_UPLOAD_MAX_NUMBER_FILES = max(50, WEERBAAR_ATTACHMENTS_MAX_FILES * 2)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Confidential reporting without an account (signals/confidential_*.py). The counters below live in
# Django's cache: in production that must be one cache shared by every process (Redis), or each
# process counts on its own. Clients are counted under a keyed hash of their address, never stored.
# Form submissions and messages per client per hour.
WEERBAAR_CONFIDENTIAL_SUBMISSIONS_PER_HOUR = env_int("WEERBAAR_CONFIDENTIAL_SUBMISSIONS_PER_HOUR", 20)
# Wrong receipt codes per client, and per code, before a cool-off of so many minutes.
WEERBAAR_RECEIPT_FAILURE_LIMIT = env_int("WEERBAAR_RECEIPT_FAILURE_LIMIT", 5)
WEERBAAR_RECEIPT_LOCKOUT_MINUTES = env_int("WEERBAAR_RECEIPT_LOCKOUT_MINUTES", 15)
# Every receipt-code check takes at least this long, right or wrong, so its timing tells nothing.
WEERBAAR_RECEIPT_CHECK_MILLISECONDS = env_int("WEERBAAR_RECEIPT_CHECK_MILLISECONDS", 1000)
# Minutes without activity after which a reporter who entered the code must enter it again.
WEERBAAR_RECEIPT_SESSION_MINUTES = env_int("WEERBAAR_RECEIPT_SESSION_MINUTES", 15)
# The worker finds the task that mails coordinators about a reporter's message here; the sweep
# sends what could not be queued.
CELERY_IMPORTS = ["signals.confidential_tasks"]
CELERY_BEAT_SCHEDULE["send-pending-reporter-message-notifications"] = {
    "task": "signals.confidential_tasks.send_pending_reporter_message_notifications",
    "schedule": timedelta(minutes=5),
}

# The address users reach the product at, for links in e-mails.
WEERBAAR_BASE_URL = env_str("WEERBAAR_BASE_URL", "http://127.0.0.1:8000", required=PRODUCTION)
if PRODUCTION and urlsplit(WEERBAAR_BASE_URL).hostname in {"127.0.0.1", "localhost", "::1"}:
    # Copied from .env.example unchanged: every link in every e-mail would point nowhere.
    raise ImproperlyConfigured(
        "WEERBAAR_BASE_URL wijst naar deze machine (localhost); zet het adres waarop gebruikers Weerbaar bereiken."
    )
if PRODUCTION and urlsplit(WEERBAAR_BASE_URL).scheme != "https":
    raise ImproperlyConfigured(
        "WEERBAAR_BASE_URL is het adres in de links van e-mails en begint met https://, zoals https://weerbaar.gemeente.nl."
    )
