"""The first admin: a Job that creates a Django superuser once and never resets an existing one.

Its pod is the app's (fetch steps, secret files, wait-for-db, the wait for migrations) plus the
generated password's file, which no other pod reads. The script runs inside the app's
``manage.py`` with the app's user model; a user of that name already there (created by this Job
before, or by hand) is left exactly as it is: its password is never read, compared or reset.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from ..settings.app import Settings
from ..settings.first_admin import EMAIL_ENV, USERNAME_ENV
from .app import command_pod_spec
from .fetch import AwsRefs
from .labels import FIRST_ADMIN
from .migrations import app_job

CONTAINER = "create-admin"

SCRIPT = """\
import os, sys
from pathlib import Path
from django.contrib.auth import get_user_model
from django.db import IntegrityError
User = get_user_model()
username = os.environ["DJANGO_SUPERUSER_USERNAME"]
if User._default_manager.filter(**{User.USERNAME_FIELD: username}).exists():
    print(f"first-admin: {username!r} exists; left as it is (its password is never reset)", flush=True)
    sys.exit(0)
fields = {User.USERNAME_FIELD: username}
email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
if email and User.USERNAME_FIELD != "email":
    fields["email"] = email
password = Path(os.environ["DJANGO_SUPERUSER_PASSWORD_FILE"]).read_text(encoding="utf-8").strip()
try:
    User._default_manager.create_superuser(password=password, **fields)
except IntegrityError:
    print(f"first-admin: {username!r} was created meanwhile; left as it is", flush=True)
    sys.exit(0)
print(f"first-admin: created {username!r}; its password is in the secrets backend (output first_admin_password_secret)", flush=True)
"""

BACKOFF_LIMIT = 3


def pod_settings(s: Settings) -> Settings:
    """The app's settings for this one pod: its secret files include the admin password."""
    return dataclasses.replace(s, pod_features=frozenset({"admin"}))


def deadline_seconds(s: Settings) -> int:
    """Waiting for the database and migrations, then a second or two of work."""
    return s.db_wait_timeout_seconds + s.migrations.wait_timeout_seconds + 300


def job(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    assert s.first_admin is not None
    a = pod_settings(s)
    spec = command_pod_spec(
        a,
        CONTAINER,
        ["python", "manage.py", "shell", "-v", "0", "-c", SCRIPT],
        None,
        refs,
        s.migrations.mode != "none",
        env=((USERNAME_ENV, s.first_admin.username), (EMAIL_ENV, s.first_admin.email)),
    )
    return app_job(
        a, f"{s.name}-first-admin", FIRST_ADMIN, spec, BACKOFF_LIMIT, deadline_seconds(s)
    )
