"""The secret files every pod that runs the app reads, in one table.

The fetch step (which Secrets Manager secret goes to which file), the credentials Secret of the
kubernetes backend, the Secrets Manager secrets, the app's ``*_FILE`` variables and the env check
that refuses a secret in plain text are all derived from ``SECRET_FILES``.
"""

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class SecretFile:
    key: str
    """File name under ``secrets_mount_path``, key of the credentials Secret and of the Secrets
    Manager secret's name (``<namespace>/<name>/<key>-``)."""
    file_env: str
    """The app's variable holding the file's path."""
    secret_id_env: str
    """The fetch step's variable naming the file's Secrets Manager secret."""
    plaintext_env: tuple[str, ...] = ()
    """Variables that would carry this secret in plain text: refused in ``env``."""
    feature: Optional[str] = None
    """Only written when the app has this feature (``broker``, ``cache``, ``mail``); always when
    ``None``."""


DATABASE_JSON = SecretFile("database.json", "DATABASE_CREDENTIALS_FILE", "DATABASE_SECRET_ID")
DATABASE_URL = SecretFile(
    "database-url", "DATABASE_URL_FILE", "DATABASE_URL_SECRET_ID", ("DATABASE_URL",)
)
SECRET_KEY = SecretFile(
    "secret-key", "SECRET_KEY_FILE", "SECRET_KEY_SECRET_ID", ("SECRET_KEY", "DJANGO_SECRET_KEY")
)
BROKER_URL = SecretFile(
    "broker-url",
    "BROKER_URL_FILE",
    "BROKER_URL_SECRET_ID",
    ("BROKER_URL", "CELERY_BROKER_URL"),
    feature="broker",
)
CACHE_URL = SecretFile(
    "cache-url",
    "CACHE_URL_FILE",
    "CACHE_URL_SECRET_ID",
    ("CACHE_URL", "REDIS_URL"),
    feature="cache",
)
EMAIL_URL = SecretFile(
    "email-url",
    "EMAIL_URL_FILE",
    "EMAIL_URL_SECRET_ID",
    ("EMAIL_URL", "SMTP_URL", "EMAIL_HOST_PASSWORD"),
    feature="mail",
)
ADMIN_PASSWORD = SecretFile(
    "admin-password",
    "DJANGO_SUPERUSER_PASSWORD_FILE",
    "ADMIN_PASSWORD_SECRET_ID",
    ("DJANGO_SUPERUSER_PASSWORD", "ADMIN_PASSWORD"),
    # Only the first-admin Job's pod reads it (settings/first_admin.py), never the app's pods.
    feature="admin",
)

# The order the fetch step writes them and the Secret volume lists them.
SECRET_FILES = (
    DATABASE_JSON, DATABASE_URL, SECRET_KEY, BROKER_URL, CACHE_URL, EMAIL_URL, ADMIN_PASSWORD,
)  # fmt: skip
# The order the app's env lists their *_FILE variables: reordering env changes every pod template,
# so it stays as the first release had it; later files go at the end.
APP_ENV_ORDER = (
    DATABASE_URL, DATABASE_JSON, SECRET_KEY, BROKER_URL, CACHE_URL, EMAIL_URL, ADMIN_PASSWORD,
)  # fmt: skip

FEATURES = ("broker", "cache", "mail", "admin")

FILE_ENV = tuple(f.file_env for f in SECRET_FILES)
PLAINTEXT_ENV = tuple(name for f in SECRET_FILES for name in f.plaintext_env)


def secret_files(features: "frozenset[str] | set[str]" = frozenset()) -> tuple[SecretFile, ...]:
    """The files of an app with these features (a subset of ``FEATURES``), in fetch order."""
    return tuple(f for f in SECRET_FILES if f.feature is None or f.feature in features)
