"""Settings shared by every environment.

Everything that differs between machines comes from environment variables with
safe defaults for the embedded (SQLite) set-up, so `make demo` needs no
configuration at all.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent
# `var/` holds the embedded database, collected static files and uploads; it is
# relative to the working directory so a checkout and an installed wheel behave
# the same.
VAR_DIR = Path(os.environ.get("BAOGONG_VAR_DIR", Path.cwd() / "var")).resolve()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get("BAOGONG_SECRET_KEY", "insecure-embedded-demo-key-set-BAOGONG_SECRET_KEY-in-production")
DEBUG = env_bool("BAOGONG_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("BAOGONG_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    # Its session table is no longer used (accounts.Session replaces it), but the migration that
    # moved its sessions over depends on it.
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "baogong.core",
    "baogong.accounts",
    "baogong.regions",
    "baogong.enterprises",
    "baogong.catalog",
    "baogong.stock",
    "baogong.delivery",
    "baogong.orders",
    "baogong.scenario",
    "baogong.planning",
    "baogong.notices",
    "baogong.lastmile",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # django-csp's, with the header's text built once (core/middleware.py).
    "baogong.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "baogong.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "baogong.config.urls"
WSGI_APPLICATION = "baogong.config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
# AxesStandaloneBackend first: it refuses a locked-out account before the
# password is even checked, so the right password does not get through either.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend taking the account read with the session (accounts/backends.py).
    "baogong.accounts.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_config() -> dict:
    """SQLite under var/ unless DATABASE_URL says otherwise.

    SQLite runs in WAL mode with IMMEDIATE transactions: a writer takes the
    write lock when its transaction starts, so two services can never both read
    a balance and then both write it (no lock upgrade deadlocks, no lost
    updates). synchronous=FULL makes an acknowledged commit survive power loss.
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        config: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=int(os.environ.get("BAOGONG_CONN_MAX_AGE", "60")))
        )
        engine = str(config["ENGINE"])
        if engine.endswith("postgresql"):
            config.setdefault("OPTIONS", {})
            # Django's backend with a connection check that needs no round trip (see its module).
            config["ENGINE"] = "baogong.core.postgresql"
            config["CONN_HEALTH_CHECKS"] = True
        if engine.endswith("sqlite3"):
            config["OPTIONS"] = sqlite_options()
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BAOGONG_SQLITE_PATH", str(VAR_DIR / "baogong.sqlite3")),
        "OPTIONS": sqlite_options(),
    }


def sqlite_options() -> dict:
    return {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON;PRAGMA busy_timeout=30000;"
        ),
    }


DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("BAOGONG_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# Uploads: a roster for a whole compound is well under this; anything larger
# is refused before it is read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Django's database sessions with their per-request read written out (accounts/sessions.py).
SESSION_ENGINE = "baogong.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp). Pages load only their own scripts and
# stylesheets: no inline script, no inline style attribute, no eval. htmx is
# told not to inject its indicator <style> (meta htmx-config in base.html);
# Pico draws its check marks and select arrows with data: SVG images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Login throttling (django-axes). Failures are counted per username only: the
# client address is REMOTE_ADDR, which behind a reverse proxy or an office NAT
# is shared by many people, so an address lockout would let one person lock a
# whole community office out. X-Forwarded-For is never trusted unless
# BAOGONG_TRUSTED_PROXY_COUNT says how many proxies of ours add to it (see
# core.security.client_ip_address); it only ever feeds the logs.
AXES_ENABLED = True
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_FAILURE_LIMIT = int(os.environ.get("BAOGONG_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("BAOGONG_LOGIN_COOLOFF_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "baogong.core.security.client_ip_address"
AXES_LOCKOUT_CALLABLE = "baogong.core.security.lockout_response"
TRUSTED_PROXY_COUNT = int(os.environ.get("BAOGONG_TRUSTED_PROXY_COUNT", "0"))
# Hand-written hot-path SQL (core/sql.py: the order path, the session and account reads) is
# prepared once per PostgreSQL session; off behind a connection pooler in transaction mode, which
# does not keep a database session per client.
SQL_PREPARE = env_bool("BAOGONG_SQL_PREPARE", True)
# axes.W006 asks for the client address among the lockout parameters; see above
# and docs/reliability.md for why this deployment counts per username.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BAOGONG_LOG_LEVEL", "INFO")},
    # The PDF renderer reports every layout step at INFO: one line per step of every sheet.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Household roster imports: limits checked before openpyxl opens the file.
ROSTER_IMPORT_MAX_ROWS = int(os.environ.get("BAOGONG_ROSTER_MAX_ROWS", "20000"))

# Vehicle routing (planning/distances.py): a road router's /table/v1 when set,
# else great-circle distance × detour factor at an average speed.
ROUTING_OSRM_URL = os.environ.get("BAOGONG_ROUTING_OSRM_URL", "")
ROUTING_DETOUR_FACTOR = float(os.environ.get("BAOGONG_ROUTING_DETOUR_FACTOR", "1.3"))
ROUTING_SPEED_KMH = float(os.environ.get("BAOGONG_ROUTING_SPEED_KMH", "25"))

# The delivery day's operating rules (planning/day_rules.py): gate hours,
# drivers' shifts, loading/unloading minutes, trips per vehicle, households per
# courier, pickup slot length and people per slot. Each BAOGONG_PLAN_<KEY>
# overrides one key, e.g. BAOGONG_PLAN_GATE_OPENS=06:30.
PLANNING_DAY = {
    key: os.environ[f"BAOGONG_PLAN_{key.upper()}"]
    for key in (
        "gate_opens",
        "gate_closes",
        "shift_starts",
        "shift_ends",
        "unloading_minutes",
        "loading_minutes",
        "max_trips",
        "courier_households",
        "pickup_slot_minutes",
        "pickup_capacity",
    )
    if f"BAOGONG_PLAN_{key.upper()}" in os.environ
}

# Gate receiving and the day boards (delivery app). A count may exceed what the
# purchase order expects by this many units (a spare bag) before it is refused.
GATE_OVER_TOLERANCE = int(os.environ.get("BAOGONG_GATE_OVER_TOLERANCE", "0"))
GATE_PHOTO_MAX_BYTES = int(os.environ.get("BAOGONG_GATE_PHOTO_MAX_BYTES", str(5 * 1024 * 1024)))
# A compound is late when an expected vehicle is this many minutes past its ETA
# without arriving, or a household has waited this many hours since ordering.
BOARD_ARRIVAL_LATE_MINUTES = int(os.environ.get("BAOGONG_BOARD_ARRIVAL_LATE_MINUTES", "30"))
BOARD_PENDING_LATE_HOURS = int(os.environ.get("BAOGONG_BOARD_PENDING_LATE_HOURS", "30"))
