"""Django's ``manage.py check --deploy`` as the release gate.

It runs where a release starts: before ``migrate`` in the migrate step (``init-container``: every
pod, before it takes the migration lock) and in the migration Job (``job``: once, and a failed
Job stops ``pulumi up`` before the Deployment changes); with ``migrations: none`` as its own last
init step of the web pod. A release that fails it never serves.

The check runs inside the app's own ``manage.py`` (``shell -c``), so it sees the settings the
pods run with, and the component can add the checks it silences for reasons it knows (no HTTPS
way in, who redirects to HTTPS, the HSTS choices) to the app's ``SILENCED_SYSTEM_CHECKS``
without the app's code knowing them. ``call_command("check", deploy=True, fail_level=...)`` is
what ``manage.py check --deploy --fail-level ...`` runs (django/core/management/commands/check.py).
"""

from __future__ import annotations

from ..settings.app import Settings
from ..settings.deploy_check import FAIL_LEVEL_ENV, SILENCED_ENV
from .steps import app_step

NAME = "deploy-check"


# Python, run by `manage.py shell -c` before the migrate step's own code (same process).
SCRIPT = """\
import os, sys
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
level = os.environ.get("DEPLOY_CHECK_FAIL_LEVEL")
if level:
    silenced = [i for i in os.environ.get("DEPLOY_CHECK_SILENCED", "").split(",") if i]
    settings.SILENCED_SYSTEM_CHECKS = [*settings.SILENCED_SYSTEM_CHECKS, *silenced]
    try:
        call_command("check", deploy=True, fail_level=level)
    except SystemCheckError as error:
        print(error, file=sys.stderr)
        print(f"deploy-check: manage.py check --deploy failed at level {level}: this release does not start; fix the settings above, or silence a check you accept with deploy_check.silenced", file=sys.stderr, flush=True)
        sys.exit(3)
    print(f"deploy-check: manage.py check --deploy passed at level {level} (silenced: {', '.join(silenced) or 'none'})", flush=True)
"""

# Why the component silences a check (README "Django's deploy checks" lists the same).
NOT_HTTPS = "no TLS way in: the component serves the app over no HTTPS way of its own"
NO_PROXY_HEADER = (
    "Django cannot tell HTTPS requests apart without trusting X-Forwarded-Proto (only with "
    "network_policies on); the load balancer redirects plain HTTP"
)


def silenced(s: Settings) -> tuple[tuple[str, str], ...]:
    """``(check id, reason)`` the component silences for this app, then the user's own."""
    reasons: dict[str, str] = {}
    if s.way_in is None:
        for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
            reasons[check] = NOT_HTTPS
    else:
        if not s.network_policies:
            reasons["security.W008"] = NO_PROXY_HEADER
        if s.hsts.seconds == 0:
            reasons["security.W004"] = "hsts.seconds is 0"
        elif not s.hsts.include_subdomains:
            reasons["security.W005"] = "hsts.include_subdomains is off"
        if s.hsts.seconds and not s.hsts.preload:
            reasons["security.W021"] = "hsts.preload is off (the domain owner's commitment)"
    for check in s.deploy_check.silenced:
        reasons.setdefault(check, "deploy_check.silenced")
    return tuple(reasons.items())


def env(s: Settings) -> list[dict]:
    """What the release step reads; nothing when the gate is off."""
    if not s.deploy_check.enabled:
        return []
    return [
        {"name": FAIL_LEVEL_ENV, "value": s.deploy_check.fail_level},
        {"name": SILENCED_ENV, "value": ",".join(check for check, _ in silenced(s))},
    ]


def check_container(s: Settings, base: dict) -> dict:
    """The gate as its own init step (``migrations: none``), from the app container's plumbing."""
    return app_step(
        s, NAME, ["python", "manage.py", "shell", "-v", "0", "-c", SCRIPT], base, env(s)
    )
