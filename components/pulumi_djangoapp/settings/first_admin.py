"""The arguments of the first admin (``FirstAdminArgs``): a Django superuser created once, with a
generated password kept in the secrets backend, never reset. The Job is built in
``builders/first_admin.py``."""

import re
from dataclasses import dataclass
from typing import Any, NotRequired, Optional, TypedDict

from .checks import Problems, given_args

DEFAULT_USERNAME = "admin"

# What the Job's script reads besides the password file.
USERNAME_ENV = "DJANGO_SUPERUSER_USERNAME"
EMAIL_ENV = "DJANGO_SUPERUSER_EMAIL"
ENV = (USERNAME_ENV, EMAIL_ENV)

# Django's default username validator (UnicodeUsernameValidator), ASCII here: letters, digits
# and @ . + - _, at most 150 characters.
_USERNAME = re.compile(r"^[A-Za-z0-9@.+_-]{1,150}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


class FirstAdminArgs(TypedDict):
    """A superuser for a fresh install, created once by a Job (README "The first admin")."""

    username: NotRequired[str]
    """Its username (the user model's ``USERNAME_FIELD``). Default: ``admin``."""
    email: NotRequired[str]
    """Its email address. Default: none."""


@dataclass(frozen=True)
class FirstAdminSettings:
    username: str = DEFAULT_USERNAME
    email: str = ""


def normalise(problems: Problems, raw: Any) -> Optional[FirstAdminSettings]:
    given = given_args(problems, raw, FirstAdminArgs, "first_admin")
    if given is None:
        return None
    username = given.get("username", DEFAULT_USERNAME)
    if not isinstance(username, str) or not _USERNAME.match(username):
        problems.add(
            "first_admin.username",
            username,
            "must be 1 to 150 letters, digits and @ . + - _ (Django's username rule)",
        )
        username = DEFAULT_USERNAME
    email = given.get("email", "")
    if not isinstance(email, str) or (email and not _EMAIL.match(email)):
        problems.add("first_admin.email", email, "must be an address such as 'ops@example.com'")
        email = ""
    return FirstAdminSettings(username=username, email=email)
