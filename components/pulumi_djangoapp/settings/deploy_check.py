"""The arguments of the release gate (``DeployCheckArgs``): Django's ``manage.py check --deploy``
with a fail level, run in the release step so that a release that fails it never serves.

Which checks the component itself silences, and why, is decided from the way in in
``builders/deploy_check.py``; ``silenced`` here adds the user's own.
"""

import re
from dataclasses import dataclass
from typing import Any, List, NotRequired, TypedDict

from .checks import Problems, checked_bool, checked_choice, given_args

# Django's levels, most severe first (django/core/management/base.py, --fail-level choices).
FAIL_LEVELS = ("WARNING", "ERROR", "CRITICAL", "INFO", "DEBUG")

DEFAULT_FAIL_LEVEL = "WARNING"

# What the release step reads (builders/deploy_check.py SCRIPT).
FAIL_LEVEL_ENV = "DEPLOY_CHECK_FAIL_LEVEL"
SILENCED_ENV = "DEPLOY_CHECK_SILENCED"
ENV = (FAIL_LEVEL_ENV, SILENCED_ENV)

# A check message id: "security.W004", "fields.E304", "myapp.W001".
CHECK_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*\.[CEWID][0-9]{3}$")


class DeployCheckArgs(TypedDict):
    """``manage.py check --deploy`` as a release gate (README "Django's deploy checks")."""

    enabled: NotRequired[bool]
    """Run the check before ``migrate`` (``job`` and ``init-container`` modes) or as its own init
    step of the web pod (``none``). Default: ``True``."""
    fail_level: NotRequired[str]
    """The least severe level that fails the release: ``WARNING`` (every ``security.W*`` deploy
    check), ``ERROR``, ``CRITICAL``, ``INFO`` or ``DEBUG``. Default: ``WARNING``."""
    silenced: NotRequired[List[str]]
    """Check ids the app has decided to live with (``security.W021``), added to the ones the
    component silences for its own reasons. Default: none."""


@dataclass(frozen=True)
class DeployCheckSettings:
    enabled: bool
    fail_level: str
    silenced: tuple[str, ...]


def normalise(problems: Problems, raw: Any) -> DeployCheckSettings:
    given = given_args(problems, raw, DeployCheckArgs, "deploy_check") or {}
    silenced_raw = given.get("silenced", [])
    silenced: list[str] = []
    if not isinstance(silenced_raw, (list, tuple)):
        problems.add("deploy_check.silenced", silenced_raw, "must be a list of check ids")
        silenced_raw = []
    for i, item in enumerate(silenced_raw):
        if isinstance(item, str) and CHECK_ID.match(item):
            silenced.append(item)
        else:
            problems.add(
                f"deploy_check.silenced[{i}]",
                item,
                "must be a Django check id such as 'security.W021' (see `manage.py check --deploy`)",
            )
    return DeployCheckSettings(
        enabled=checked_bool(problems, "deploy_check.enabled", given.get("enabled", True), True),
        fail_level=checked_choice(
            problems,
            "deploy_check.fail_level",
            given.get("fail_level", DEFAULT_FAIL_LEVEL),
            FAIL_LEVELS,
        ),
        silenced=tuple(dict.fromkeys(silenced)),
    )
