"""The arguments of outgoing mail (``MailArgs``): an SMTP server (Amazon SES SMTP or any relay),
its password as a Pulumi secret, and the two senders Django uses.

The app reads one URL with the password from ``EMAIL_URL_FILE`` (a secret file, like the
database's), and ``DJANGO_DEFAULT_FROM_EMAIL`` / ``DJANGO_SERVER_EMAIL`` from env (not secret).
Mail always travels encrypted: ``smtp://`` means STARTTLS (Django's ``EMAIL_USE_TLS``) and
``smtps://`` TLS from the first byte (``EMAIL_USE_SSL``); there is no plain-text scheme.
"""

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, NotRequired, Optional, TypedDict

import pulumi

from .broker import redacted
from .checks import Problems, given_args

SCHEMES = {"smtp": 587, "smtps": 465}

# The senders, in env: addresses, not secrets.
DEFAULT_FROM_EMAIL_ENV = "DJANGO_DEFAULT_FROM_EMAIL"
SERVER_EMAIL_ENV = "DJANGO_SERVER_EMAIL"
ENV = (DEFAULT_FROM_EMAIL_ENV, SERVER_EMAIL_ENV)

# An address, or "Display Name <address>" (what Django's DEFAULT_FROM_EMAIL accepts); no line
# breaks, which would let a value add headers.
_ADDRESS = re.compile(r"^(?:[^<>\r\n]*<)?[^@\s<>]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?>?$")

_EXAMPLE = "'smtp://AKIAEXAMPLE@email-smtp.eu-west-3.amazonaws.com:587'"


class MailArgs(TypedDict):
    """Outgoing mail through an SMTP server; the app reads the URL from ``EMAIL_URL_FILE``."""

    url: str
    """``smtp://user@host:port`` (STARTTLS; port 587 when left out) or ``smtps://user@host:port``
    (TLS from the first byte; 465), without the password. Required."""
    password: NotRequired[pulumi.Input[str]]
    """The SMTP password, as a secret (stack config: ``pulumi config set --secret
    djangoapp:mailPassword``). It reaches the app only inside the URL file. Required when ``url``
    names a user; default: none."""
    default_from_email: str
    """Sender of the site's mail (``DEFAULT_FROM_EMAIL``): ``shop@example.com`` or
    ``Shop <shop@example.com>``. Required."""
    server_email: NotRequired[str]
    """Sender of error mail to ``ADMINS`` (``SERVER_EMAIL``). Default: ``default_from_email``."""


@dataclass(frozen=True)
class MailSettings:
    url: str
    """The URL as given, without the password."""
    password: Any
    """The password as given (a string or a secret Output), or None."""
    default_from_email: str
    server_email: str

    @property
    def port(self) -> int:
        parts = urllib.parse.urlsplit(self.url)
        return parts.port or SCHEMES.get(parts.scheme, SCHEMES["smtp"])

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or ""


def url_problem(url: Any) -> Optional[str]:
    if not isinstance(url, str):
        return f"must be an smtp:// (STARTTLS) or smtps:// (TLS) URL such as {_EXAMPLE}"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        return (
            f"must be an smtp:// (STARTTLS) or smtps:// (TLS) URL such as {_EXAMPLE}; mail is "
            "never sent unencrypted"
        )
    if parts.password is not None:
        return "must not carry a password: give it as mail.password, a secret"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "must be only scheme, user, host and port"
    try:
        _ = parts.port  # urllib parses the port lazily: reading it is the check
    except ValueError:
        return "has a port that is not a number from 1 to 65535"
    return None


def _address(problems: Problems, field: str, value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        problems.add(
            field,
            value,
            "must be an address such as 'shop@example.com' or 'Shop <shop@example.com>'",
        )
        return ""
    return value


def normalise(problems: Problems, raw: Any) -> Optional[MailSettings]:
    raw = given_args(problems, raw, MailArgs, "mail")
    if raw is None:
        return None
    url = raw.get("url")
    problem = (
        url_problem(url) if url is not None else f"is required: the SMTP server, e.g. {_EXAMPLE}"
    )
    if problem:
        problems.add("mail.url", redacted(url), problem)
    user = urllib.parse.urlsplit(url).username if isinstance(url, str) and not problem else None
    password = raw.get("password")
    if user and password is None:
        problems.add("mail.password", None, f"is required: the url names user {user!r}")
    elif password is not None and not user and not problem:
        problems.add("mail.password", "[secret]", "needs a user in the url (smtp://user@host)")
    elif isinstance(password, str) and not password:
        problems.add("mail.password", "[secret]", "must not be empty")
    if "default_from_email" in raw:
        sender = _address(problems, "mail.default_from_email", raw["default_from_email"])
    else:
        problems.add("mail.default_from_email", None, "is required: the sender of the site's mail")
        sender = ""
    server = raw.get("server_email")
    return MailSettings(
        url=url if isinstance(url, str) else "",
        password=password,
        default_from_email=sender,
        server_email=sender if server is None else _address(problems, "mail.server_email", server),
    )
