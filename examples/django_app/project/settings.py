"""Settings of the example shop, read the way DjangoApp delivers them.

Secrets come from files named by ``*_FILE`` variables (in-memory volumes in the pod); the hosts,
trusted origins and proxy header come from the component-managed ``DJANGO_*`` variables (one
owner: the component derives them from the way in); other plain settings come from TOML files
in ``DJANGO_CONFIG_DIR``. Nothing secret is read from a plain environment value.
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


SECRET_KEY = secret("SECRET_KEY") or "build-time-placeholder"
DEBUG = os.environ.get("DJANGO_DEBUG", "false").lower() == "true"
# Set by DjangoApp from its way in plus the probe host ("localhost" outside a pod).
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS") or ["localhost"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# Only set while the NetworkPolicy makes the load balancer the only way in.
if os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = tuple(os.environ["DJANGO_SECURE_PROXY_SSL_HEADER"].split(",", 1))

INSTALLED_APPS = [
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
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
DATABASES = {"default": database(secret("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
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
