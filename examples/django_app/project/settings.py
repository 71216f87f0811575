"""Settings of the example shop, read the way DjangoApp delivers them.

Secrets come from files named by ``*_FILE`` variables (in-memory volumes in the pod); the hosts,
trusted origins, proxy header and HTTPS settings come from the component-managed ``DJANGO_*``
variables (one owner: the component derives them from the way in); other plain settings come
from TOML files in ``DJANGO_CONFIG_DIR``. Nothing secret is read from a plain environment value.

Every block below that reads a component variable is what the README asks an app to add.
"""

import os
import tomllib
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# `collectstatic` runs while the image is built, where no secret exists (and none is needed).
BUILDING = os.environ.get("DJANGO_BUILD") == "1"


def secret(name: str) -> str:
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    if BUILDING:
        return ""
    raise ImproperlyConfigured(f"{name}_FILE must name the file holding {name}")


def config() -> dict:
    """Every *.toml file of the config directory, merged in name order."""
    merged: dict = {}
    directory = Path(os.environ.get("DJANGO_CONFIG_DIR", BASE_DIR / "config"))
    for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
        with path.open("rb") as handle:
            for section, values in tomllib.load(handle).items():
                merged.setdefault(section, {}).update(values if isinstance(values, dict) else {})
    return merged


def database(url: str) -> dict:
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or 5432),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        # libpq parameters from the query: sslmode=verify-full and sslrootcert (RDS).
        "OPTIONS": dict(parse_qsl(parts.query)),
    }


CONFIG = config()
DJANGO = CONFIG.get("django", {})


def env_list(name: str) -> list[str]:
    return [item for item in os.environ.get(name, "").split(",") if item]


def env_flag(name: str) -> bool:
    return os.environ.get(name, "false").lower() == "true"


def email(url: str) -> dict:
    """EMAIL_* settings from the component's mail URL: smtp:// is STARTTLS, smtps:// TLS from
    the first byte; the password is percent-escaped in the URL."""
    parts = urlsplit(url)
    tls = parts.scheme == "smtps"
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "",
        "EMAIL_PORT": parts.port or (465 if tls else 587),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": tls,
        "EMAIL_USE_TLS": not tls,
        "EMAIL_TIMEOUT": 10,
    }


SECRET_KEY = secret("SECRET_KEY") or "build-time-placeholder"
DEBUG = os.environ.get("DJANGO_DEBUG", "false").lower() == "true"
# Set by DjangoApp from its way in plus the probe host ("localhost" outside a pod).
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS") or ["localhost"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# Only set while the NetworkPolicy makes the load balancer the only way in.
if os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = tuple(os.environ["DJANGO_SECURE_PROXY_SSL_HEADER"].split(",", 1))

INSTALLED_APPS = [
    # The admin, for the first admin user the component can create (first_admin).
    "django.contrib.admin",
    "django.contrib.messages",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    # Sessions, and with them `manage.py clearsessions` (a scheduled command in staging/prod).
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "shop",
]
MIDDLEWARE = [
    # First: the health path answers without host validation (ALB checks send the pod IP).
    "project.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the image, right after SecurityMiddleware (WhiteNoise's documented place).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# HTTPS, from the component's TLS way in (absent without one: check --deploy's HTTPS checks are
# then silenced by the component, with the reason in the release step's log).
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_flag("DJANGO_SECURE_HSTS_PRELOAD")
SECURE_SSL_REDIRECT = env_flag("DJANGO_SECURE_SSL_REDIRECT")
SESSION_COOKIE_SECURE = env_flag("DJANGO_SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = env_flag("DJANGO_CSRF_COOKIE_SECURE")
ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
DATABASES = {"default": database(secret("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
# Collected into the image at build time (the root filesystem is read-only at run time).
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names (app.3f2a….css): WhiteNoise serves those as immutable for a year, others for
    # a minute; the manifest is read once at start.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Media uploads: S3 under the app's own prefix, with the credentials the component gives this
# container (a web-identity token for the media role; boto3 finds it in the environment).
if os.environ.get("DJANGO_MEDIA_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["DJANGO_MEDIA_BUCKET"],
            "location": os.environ["DJANGO_MEDIA_PREFIX"],
            # Private objects (the bucket has ACLs off); links are presigned and expire.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# The cache: a URL file when the component gives the app one (never the broker's server);
# otherwise Django's per-process memory cache.
if os.environ.get("CACHE_URL_FILE"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": secret("CACHE_URL"),
        }
    }

# Mail: the SMTP URL (with its password) is a secret file; the senders are plain env.
if os.environ.get("EMAIL_URL_FILE"):
    globals().update(email(secret("EMAIL_URL")))
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "webmaster@localhost")
SERVER_EMAIL = os.environ.get("DJANGO_SERVER_EMAIL", "root@localhost")
FEATURES = CONFIG.get("features", {})

# Celery: the broker URL is a secret file (BROKER_URL_FILE), present when the app has a broker.
CELERY_BROKER_URL = secret("BROKER_URL") if os.environ.get("BROKER_URL_FILE") else "memory://"
# A task is acknowledged once it has run: a worker killed mid-task (OOM, SIGKILL after the grace
# period) leaves it to be delivered again. One message at a time per process for the same reason.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# When an unacknowledged task is delivered again (kombu's default is an hour): the component sets
# it from the longest grace period, i.e. the longest task, plus a margin.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("BROKER_VISIBILITY_TIMEOUT", "3600"))
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Beat: its schedule file on the in-memory /tmp (the root is read-only), the heartbeat scheduler,
# and a tick at least every 30 s so the heartbeat never looks stale.
CELERY_BEAT_SCHEDULE_FILENAME = "/tmp/celerybeat-schedule"
CELERY_BEAT_SCHEDULER = "project.celery:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 30
CELERY_BEAT_SCHEDULE = {
    "tick": {
        "task": "shop.tasks.tick",
        "schedule": float(os.environ.get("SHOP_TICK_SECONDS", "60")),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
