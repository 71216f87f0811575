"""Runs a container of a rendered pod spec as a local process, the way the kubelet would.

What is taken from the pod spec unchanged: ``command`` + ``args`` (with the kubelet's ``$(VAR)``
expansion) and every ``env`` value. What stands in for the container: the local tools (the
``aws`` CLI from PyPI for the aws-cli image, ``pg_isready`` for the postgres image, this venv's
Python with the example project for the app image) and the mounts: config and secrets are
pointed into a temporary directory by the component's own arguments; the two fixed mount paths
(service-account token, the CLI's HOME) are mapped to temporary directories.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping

from pulumi_djangoapp.builders import fetch

from .services import postgres_bin

APP_DIR = Path(__file__).resolve().parents[2] / "examples" / "django_app"
_REFERENCE = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' rule: $(NAME) of a defined variable is replaced, $$ is a literal $, and any
    other reference is left as written."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, text)


class Kubelet:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.paths = {fetch.TOKEN_DIR: tmp / "token", fetch.HOME_DIR: tmp / "aws-home"}
        # Folders searched before the stand-in tools (a test's aws-cli v2, say).
        self.path_prefix: list[str] = []
        # The image's own ENV (its Dockerfile), beneath the pod's: where the stand-in image keeps
        # what the real one has at fixed paths (collected static files, a CA bundle).
        self.image_env: dict[str, str] = {}
        # The image's code: the example app, or a copy standing for another image of it.
        self.app_dir = APP_DIR
        for path in self.paths.values():
            path.mkdir(parents=True, exist_ok=True)
        # A JWT-shaped token, as the projected service-account volume would hold.
        (self.paths[fetch.TOKEN_DIR] / "token").write_text(
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c2hvcDpzaG9wIn0.c2lnbmF0dXJl"
        )

    def _mapped(self, value: str) -> str:
        for mount, local in self.paths.items():
            if value == mount or value.startswith(mount + "/"):
                return str(local) + value[len(mount) :]
        return value

    def environment(self, container: dict) -> dict[str, str]:
        """Only what the pod spec declares, plus PATH: no credentials leak in from the test run."""
        env: dict[str, str] = {}
        for item in container.get("env", []):
            env[item["name"]] = self._mapped(expand(self._value(item), env))
        bin_dirs = [
            *self.path_prefix,
            str(Path(sys.executable).parent),
            str(postgres_bin()),
            "/usr/local/bin",
            "/usr/bin",
            "/bin",
        ]
        return {
            "PATH": os.pathsep.join(bin_dirs),
            "LANG": "C.UTF-8",
            "HOME": str(self.tmp),
            **self.image_env,
            **env,
        }

    # The pod's address as the downward API gives it; here the processes listen on loopback.
    pod_ip = "127.0.0.1"

    def _value(self, item: dict) -> str:
        if "valueFrom" in item:
            field = item["valueFrom"]["fieldRef"]["fieldPath"]
            assert field == "status.podIP", f"the stand-in knows status.podIP only, not {field}"
            return self.pod_ip
        return str(item["value"])

    def argv(self, container: dict) -> list[str]:
        env = {e["name"]: self._value(e) for e in container.get("env", [])}
        return [expand(a, env) for a in [*container.get("command", []), *container.get("args", [])]]

    def run(self, container: dict, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(container),
            env=self.environment(container),
            cwd=self.app_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, container: dict) -> subprocess.Popen:
        return subprocess.Popen(
            self.argv(container),
            env=self.environment(container),
            cwd=self.app_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def timed(
        self, container: dict, timeout: float = 120
    ) -> tuple[subprocess.CompletedProcess, float]:
        started = time.monotonic()
        result = self.run(container, timeout)
        return result, time.monotonic() - started
