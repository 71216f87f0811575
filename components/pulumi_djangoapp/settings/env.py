"""Raw ``DjangoAppArgs`` in, one validated and frozen ``Settings`` out.

Everything after :func:`normalise` reads only ``Settings``: defaults are filled in here, once,
and every problem with the input is collected and raised together before any resource exists.
"""

from __future__ import annotations

import re
from typing import Any

from . import deploy_check, first_admin, mail, way_in
from .checks import (
    ENV_NAME,
    Problems,
    checked_mapping,
)
from .secret_files import FILE_ENV, PLAINTEXT_ENV

# What tells the rollback gate (builders/release_gate.py) to refuse an older image.
GATE_ENV = "ROLLBACK_GATE"

# Variables the component sets itself; a user value would silently contradict them.
MANAGED_ENV = (
    *FILE_ENV,
    "BROKER_VISIBILITY_TIMEOUT",
    "HEARTBEAT_FILE",
    "READY_FILE",
    "MIGRATION_LOCK_KEY",
    "MIGRATION_LOCK_TIMEOUT",
    "MIGRATIONS_WAIT_TIMEOUT",
    "DJANGO_CONFIG_DIR",
    "DJANGO_LOG_DIR",
    "WEB_CONCURRENCY",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    *way_in.MANAGED_ENV,
    *deploy_check.ENV,
    *mail.ENV,
    *first_admin.ENV,
    GATE_ENV,
)

# What replaces a variable the component now sets from the way in (0.1 let a stack set them in env).
MANAGED_BY_WAY_IN = {
    name: f"is set by the component from the way in: {what}"
    for name, what in {
        "DJANGO_ALLOWED_HOSTS": "give the hosts as ingress.hosts or http_route.hosts (stack config: "
        "djangoapp:wayIn and djangoapp:hosts); the probe host (probe_host, localhost by default) "
        "is added by the component",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://<host> for every host of ingress.hosts or http_route.hosts",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "set with a TLS way in (ingress or http_route)",
    }.items()
}

# These would carry a secret in plain text; the component delivers them as files instead.
SECRET_ENV = PLAINTEXT_ENV

_SECRET_LOOKING_NAME = re.compile(
    r"PASSWORD|PASSWD|PASSPHRASE|(?:^|_)PASS(?:$|_)|(?:^|_)PWD(?:$|_)|SECRET|TOKEN|CREDENTIAL|"
    r"PRIVATE_KEY|ACCESS_KEY|API_KEY|AUTH_KEY|SIGNING_KEY",
    re.IGNORECASE,
)

_URL_WITH_PASSWORD = re.compile(r"://[^/@\s:]*:[^/@\s]+@")

# A credential in a URL's query string (?password=..., &token=..., &sig=...).
_SECRET_IN_QUERY = re.compile(
    r"[?&;](?:[a-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|signature|sig))=[^&;\s]+",
    re.IGNORECASE,
)


def checked_env(
    problems: Problems, field: str, value: Any, allowed_plaintext: frozenset[str] = frozenset()
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for name, text in checked_mapping(problems, field, value).items():
        where = f"{field}.{name}" if isinstance(name, str) and name else f"{field}[{name!r}]"
        if not isinstance(name, str) or not ENV_NAME.match(name):
            problems.add(
                where,
                name,
                "env names must be non-empty, without '=', made of letters, digits, '_', '-', "
                "'.' and not start with a digit",
            )
            continue
        if not isinstance(text, str):
            problems.add(where, text, "env values must be strings")
            continue
        if name in MANAGED_ENV:
            problems.add(
                where,
                text,
                MANAGED_BY_WAY_IN.get(name, "is set by the component; choose another name"),
            )
        elif name in SECRET_ENV:
            problems.add(
                where,
                "[hidden]",
                "is a secret: the component delivers it as a file (see *_FILE variables)",
            )
        elif name not in allowed_plaintext and (
            (_SECRET_LOOKING_NAME.search(name) and not name.endswith("_FILE"))
            or _URL_WITH_PASSWORD.search(text)
            or _SECRET_IN_QUERY.search(text)
        ):
            problems.add(
                where,
                "[hidden]",
                "looks like a secret and would be stored in plain text; deliver it as a file, or "
                "list the name in plaintext_env_allowed if it is not secret",
            )
        pairs.append((name, text))
    return tuple(sorted(pairs))
