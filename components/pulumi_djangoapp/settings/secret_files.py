"""The secret files every pod that runs the app reads, in one table.

The fetch step (which Secrets Manager secret goes to which file), the credentials Secret of the
kubernetes backend, the Secrets Manager secrets, the app's ``*_FILE`` variables and the env check
that refuses a secret in plain text are all derived from ``SECRET_FILES``.
"""

from dataclasses import dataclass


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
    with_broker: bool = False
    """Only written when the app has a broker."""


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
    with_broker=True,
)

# The order the fetch step writes them and the Secret volume lists them.
SECRET_FILES = (DATABASE_JSON, DATABASE_URL, SECRET_KEY, BROKER_URL)
# The order the app's env lists their *_FILE variables: reordering env changes every pod template,
# so it stays as the first release had it.
APP_ENV_ORDER = (DATABASE_URL, DATABASE_JSON, SECRET_KEY, BROKER_URL)

FILE_ENV = tuple(f.file_env for f in SECRET_FILES)
PLAINTEXT_ENV = tuple(name for f in SECRET_FILES for name in f.plaintext_env)


def secret_files(with_broker: bool) -> tuple[SecretFile, ...]:
    """The files of an app with or without a broker, in fetch order."""
    return tuple(f for f in SECRET_FILES if with_broker or not f.with_broker)
