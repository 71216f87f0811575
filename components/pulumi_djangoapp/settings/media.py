"""The arguments of user uploads (``MediaArgs``): an S3 bucket of the app's own and keyless access
for the app's containers to exactly one prefix of it. The bucket, the role and the containers'
credentials are built in ``builders/media.py`` and ``components/django_app.py``.

This is the one place where containers other than the fetch steps hold cloud credentials: the
app's own code (``django``, its processes and schedules) must read and write uploads. How
narrowly depends on the credential path (README "Media uploads").
"""

import re
from dataclasses import dataclass
from typing import Any, List, NotRequired, Optional, TypedDict
from urllib.parse import urlsplit

from .checks import Problems, checked_int, given_args
from .sts import TOKEN_AUDIENCE

# On a pod template: its containers that hold the app's cloud access (what the policy pack allows).
ACCESS_ANNOTATION = "djangoapp.io/cloud-access"

# User data: an overwritten or deleted upload can be brought back for three months.
DEFAULT_NONCURRENT_DAYS = 90

_AUDIENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}$")


class MediaArgs(TypedDict):
    """User uploads in an S3 bucket of the app's own (README "Media uploads"). Needs the
    ``aws-secrets-manager`` backend."""

    noncurrent_version_days: NotRequired[int]
    """Days an overwritten or deleted upload stays restorable. Default: ``90``."""
    cors_origins: NotRequired[List[str]]
    """Origins (``https://shop.example.com``) a browser may upload from directly with a presigned
    URL: the bucket gets a CORS rule for them. Default: none (no CORS rule)."""
    token_audience: NotRequired[str]
    """Audience of the app containers' web-identity token, which the media role's trust requires.
    With a second audience registered on the cluster's IAM OIDC provider (``aws iam
    add-client-id-to-open-id-connect-provider``), the app's token cannot assume the fetch role and
    the fetch steps' cannot assume the media role. Default: ``sts.amazonaws.com`` (the fetch
    steps' audience: works on any cluster; the app's token could then also assume the fetch
    role, which reads only the config and secrets the app already holds as files)."""


@dataclass(frozen=True)
class MediaSettings:
    noncurrent_version_days: int = DEFAULT_NONCURRENT_DAYS
    cors_origins: tuple[str, ...] = ()
    token_audience: str = TOKEN_AUDIENCE

    @property
    def separate_audience(self) -> bool:
        return self.token_audience != TOKEN_AUDIENCE


def prefix(namespace: str, app: str) -> str:
    """Where this app's uploads live in its bucket (no leading or trailing '/')."""
    return f"{namespace}/{app}/media"


def _origin_problem(origin: Any) -> Optional[str]:
    if not isinstance(origin, str):
        return "must be an origin such as 'https://shop.example.com'"
    parts = urlsplit(origin)
    if parts.scheme != "https" or not parts.hostname or parts.path or parts.query or parts.fragment:
        return "must be an https:// origin without a path, such as 'https://shop.example.com'"
    return None


def normalise(problems: Problems, raw: Any, uses_aws: bool) -> Optional[MediaSettings]:
    given = given_args(problems, raw, MediaArgs, "media")
    if given is None:
        return None
    if not uses_aws:
        problems.add(
            "media",
            dict(given),
            "needs secrets_backend 'aws-secrets-manager': uploads go to S3 with the app's role",
        )
    origins = given.get("cors_origins", [])
    if not isinstance(origins, (list, tuple)):
        problems.add("media.cors_origins", origins, "must be a list of origins")
        origins = []
    for i, origin in enumerate(origins):
        problem = _origin_problem(origin)
        if problem:
            problems.add(f"media.cors_origins[{i}]", origin, problem)
    audience = given.get("token_audience", TOKEN_AUDIENCE)
    if not isinstance(audience, str) or not _AUDIENCE.match(audience):
        problems.add(
            "media.token_audience",
            audience,
            "must be an audience (client ID) of the cluster's IAM OIDC provider, such as "
            "'sts.amazonaws.com' or 'djangoapp-media'",
        )
        audience = TOKEN_AUDIENCE
    return MediaSettings(
        noncurrent_version_days=checked_int(
            problems,
            "media.noncurrent_version_days",
            given.get("noncurrent_version_days", DEFAULT_NONCURRENT_DAYS),
            1,
            36500,
        ),
        cors_origins=tuple(o for o in origins if isinstance(o, str)),
        token_audience=audience,
    )
