"""Commonpurse settings: one file, read from the environment.

With no environment at all the project runs *embedded*: SQLite, the in-memory channel layer,
eager Celery and console e-mail, so ``make run`` works on a bare machine. ``DATABASE_URL``
switches to PostgreSQL and ``REDIS_URL`` switches the channel layer, Celery and the cache to
Redis. Every variable is listed in ``.env.example``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from backend.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -----------------------------------------------------------------------------------
# DEBUG is off unless set: a server started without it must not show tracebacks and settings
# to the public (issue 13). `make run` and the tests set DEBUG=true for themselves (Makefile,
# pyproject's pytest ``env``); production sets a real SECRET_KEY.
DEBUG = env_bool("DEBUG", False)
_DEV_SECRET_KEY = "django-insecure-commonpurse-embedded-development-key-not-for-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_NAME = env_str("SITE_NAME", "Commonpurse")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
#: How many working days the council takes to check a new resident's home area and age; sign-up
#: and the ballot tell residents, so set it to what the team really manages.
RESIDENT_CHECK_DAYS = env_int("RESIDENT_CHECK_DAYS", 5)
#: The map tiles behind the proposals map: a council may point it at its own tile server.
MAP_TILE_URL = env_str("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env_str(
    "MAP_TILE_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)

INSTALLED_APPS = [
    "daphne",  # makes `runserver` an ASGI server, so WebSockets work in development
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI from our own static files, not a CDN
    "csp",
    "axes",
    "backend.accounts",
    "pb",
    "deliberation",
    "feedback",
]

MIDDLEWARE = [
    "backend.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backend.middleware.AccountLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out log-in into the "wait" page.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # Static files from STATIC_ROOT in production; `runserver` serves them itself in DEBUG.
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"
#: The largest WebSocket frame a client may send (64 KiB): `runserver` (daphne) reads these;
#: uvicorn gets `--ws-max-size 65536` (Makefile, docker-compose.yml, UVICORN_WS_MAX_SIZE in the
#: Dockerfile) and the room consumer answers an error frame to anything larger that gets through.
WEBSOCKET_MAX_BYTES = 64 * 1024
DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE = WEBSOCKET_MAX_BYTES
DAPHNE_WEBSOCKET_MAX_FRAME_SIZE = WEBSOCKET_MAX_BYTES

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
                "backend.context_processors.site",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    _prepare = env_str("DATABASE_PREPARE_THRESHOLD", "5")
    if _db["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", True):
        # Under an ASGI server every sync view runs in a worker thread; persistent
        # per-thread connections exhaust PostgreSQL, a shared pool does not.
        _db["OPTIONS"] = {
            "pool": {
                "min_size": env_int("DATABASE_POOL_MIN", 2),
                "max_size": env_int("DATABASE_POOL_MAX", 20),
                # Seconds a request waits for a connection before it is answered 503 (the
                # database down, or every connection busy): short, so a voter hears at once.
                "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
                # Seconds the pool keeps trying to open one connection. psycopg doubles its
                # wait between tries (1, 2, 4, 8, 16 s...), so its default of 5 minutes left
                # a process waiting up to 16 s after PostgreSQL came back from a 25 s outage.
                # Giving up after 2 s lets the next request that finds the pool empty start
                # afresh at once: about one try a second while requests come in
                # (tests/reliability/test_pool_reconnect.py, docs/operations.md).
                "reconnect_timeout": 2,
            },
            # A statement bound on the server is prepared once a connection has run it this
            # many times, so PostgreSQL stops planning it anew: only the ballot cast's
            # (pb/voting/services/casting.py); Django's own cursors bind in the client and are
            # never prepared. Empty turns it off (a transaction-mode pgbouncer before 1.21).
            "prepare_threshold": int(_prepare) if _prepare else None,
        }
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery ------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    # The pub/sub layer held 2,000 clients in one group where the default layer ran out of
    # connections at 500 (DESIGN.md, live deliberation).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # pytest-xdist gives each worker a database of its own, so room ids repeat between
            # workers: a prefix per worker keeps their pub/sub groups apart on the one Redis.
            # (PYTEST_XDIST_WORKER is set by the test runner, never by an operator.)
            # CHANNELS_REDIS_URLS spreads the live rooms over several Redis servers: each
            # room's group lives on one of them, chosen by a hash of its name, so a room's
            # fan-out stays on one shard (docs/scaling.md). Unset: REDIS_URL alone.
            "CONFIG": {
                "hosts": env_list("CHANNELS_REDIS_URLS", [REDIS_URL]),
                "prefix": env_str("CHANNELS_PREFIX", "cp")
                + os.environ.get("PYTEST_XDIST_WORKER", ""),
            },
        }
    }
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "backend.cache.RedisCache",  # one client per pool (backend/cache.py)
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_PREFIX", "cp"),
            # A ballot's spec, read on every cast, is also kept in each process for 5 seconds.
            "NEAR": {"PREFIXES": ["voting:spec:"], "SECONDS": 5},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The broker may be a Redis of its own that keeps its data on disk (append-only file), so a
# restart loses no queued count, report step or e-mail; the cache and the channel layer on
# REDIS_URL keep nothing worth the disk writes. Unset, the broker shares REDIS_URL.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# A task whose worker died is handed to another worker once it has gone unacknowledged this
# long (Redis has no other way to know). Every task is idempotent, so a task that runs longer
# than this and is delivered twice does no harm; kombu's default of an hour would leave a count
# or the outcome messages waiting that long after a crash.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 600)}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Counts on their own queue so a flood of notifications never delays results night.
CELERY_TASK_ROUTES = {
    "pb.tasks.tally_round": {"queue": "tally"},
    "feedback.tasks.*": {"queue": "notifications"},
}
# Work untouched for this long (seconds) is taken to be lost (a broker restart dropped its
# task, a worker died for good) and is started again by beat's sweepers; every step is keyed
# by what it computes, so work that was merely slow is not done twice.
SWEEP_GRACE = env_int("SWEEP_GRACE_SECONDS", 600)
# The bearer token a Prometheus scraper sends to /metrics; unset, /metrics answers only in DEBUG.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "advance-phases": {"task": "pb.tasks.advance_due_phases", "schedule": 60.0},
    # Backstop for sealing cast ballots into the count's table (docs/secrecy.md).
    "seal-ballots": {"task": "pb.tasks.seal_due_ballots", "schedule": 60.0},
    "seal-survey-answers": {"task": "feedback.tasks.seal_due_survey_answers", "schedule": 60.0},
    "resume-stalled-counts": {"task": "pb.counting.tasks.resume_stalled_counts", "schedule": 300.0},
    "resume-stalled-outcomes": {
        "task": "feedback.tasks.resume_stalled_outcomes",
        "schedule": 300.0,
    },
}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Residents stay signed in for Django's two weeks; anyone with a staff role (managers, event
# staff, councillors, facilitators, admins) for a working day, so a forgotten session on a
# shared computer at a venue does not keep their powers (``backend.accounts.apps``).
STAFF_SESSION_SECONDS = env_int("STAFF_SESSION_HOURS", 8) * 60 * 60
# Log-in lock-out (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one account, or
# from one client address, that account or address waits LOGIN_COOLOFF_MINUTES (a 429 page that
# says what to do). Failures are kept in the database (Django's admin lists them; `manage.py
# axes_reset` clears them); a successful log-in clears the account's count.
AUTHENTICATION_BACKENDS = [
    "backend.accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "backend.accounts.lockout.locked_out"
AXES_USERNAME_CALLABLE = "backend.accounts.lockout.login_name"
AXES_CLIENT_IP_CALLABLE = "backend.client_ip.client_ip"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backend.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "backend.parsers.JSONParser",  # DRF's, with too-deep nesting a 400 rather than a 500
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # How many proxies in front of the app append to X-Forwarded-For; 0 trusts only the
    # connection's address, so a client cannot choose the address its throttle counts against.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
#: Refused voter codes one client address (or one kiosk) may send before it must wait:
#: "count/period" with period s, m, h or d (pb/voting/throttles.py).
VOTER_CODE_FAILURES = env_str("VOTER_CODE_FAILURES", "20/hour")
#: Register searches one member of staff may make at the desks in any such period (sliding):
#: a busy desk serves a voter a minute; paging through the register takes thousands.
DESK_SEARCHES = env_str("DESK_SEARCHES", "150/hour")
SPECTACULAR_SETTINGS = {
    "TITLE": "Commonpurse API",
    "DESCRIPTION": "Participatory budgeting rounds, proposals, ballots and outcome feedback.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"PhaseEnum": "pb.phases.Phase"},
    # The API docs page works offline and under the CSP: Swagger UI from drf-spectacular-sidecar
    # (static files of this site), its start-up script from its own URL (urls.py).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- I18n, static, media --------------------------------------------------------------------
# The languages residents speak here (issue 16): Welsh is a legal duty for a council in Wales;
# Polish and Urdu are the most spoken after English in many English and Welsh towns. Each is
# named in itself, as the language switcher shows it. Urdu is written right to left: Django
# knows this (LANGUAGES_BIDI) and base.html sets dir="rtl".
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en-gb")
LANGUAGES = [
    ("en-gb", "English"),
    ("cy", "Cymraeg"),
    ("pl", "Polski"),
    ("ur", "اردو"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The visitor's choice is kept for a year in a cookie (and on the account when signed in), so a
# resident who chose Welsh once is not asked again on the next visit.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env_str("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Commonpurse <noreply@localhost>")

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the small JS on ballot pages reads it for fetch()
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp): scripts, styles, fonts and everything else from this
# site only, no inline script or style (the pages keep theirs in static/), pictures from here,
# data: URLs (icons in the API docs' stylesheet) and the proposals map's tile server; nothing may
# frame the site. WebSockets go to this same host ('self' covers ws: and wss: there).
_TILE_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(MAP_TILE_URL.replace("{s}", "a")))
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", _TILE_ORIGIN],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# A keyed hash (not a password hasher) checks voter codes fast on the casting path; the key is
# separate from SECRET_KEY so rotating sessions does not invalidate printed letters.
VOTER_CODE_KEY = env_str("VOTER_CODE_KEY", SECRET_KEY)

# One JSON object a line in production (LOG_FORMAT=json, the default without DEBUG), for a log
# collector to parse; every line carries the request id ("-" outside a request).
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} must be 'json' or 'text'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "skip_conflicts": {"()": "backend.log_filters.SkipConflicts"},
        "request_id": {"()": "backend.request_id.RequestIdFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"filters": ["skip_conflicts"]}},
}
