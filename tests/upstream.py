"""Upstream sources the tests read instead of restating them: KEDA's and the Prometheus
Operator's CRDs (their schemas validate the objects the component builds) and KEDA's redis
scaler (its read script runs against the broker's ACL). Taken from the Go module proxy by
module and version with ``go mod download``; nothing of them is committed."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import yaml

KEDA = ("github.com/kedacore/keda/v2", "v2.21.0")

PROMETHEUS_OPERATOR = ("github.com/prometheus-operator/prometheus-operator", "v0.85.0")


@functools.cache
def module_dir(module: str, version: str) -> Path:
    """The module's source tree in the Go module cache (downloaded on first use)."""
    with tempfile.TemporaryDirectory() as empty:
        # Outside any go.mod: a plain download, whatever the caller's working directory holds.
        result = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@{version}"],
            cwd=empty,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "GOFLAGS": "-mod=mod"},
        )
    info = json.loads(result.stdout or "{}")
    if result.returncode != 0 or "Dir" not in info:
        raise RuntimeError(
            f"go mod download {module}@{version}: {info.get('Error') or result.stderr}"
        )
    return Path(info["Dir"])


def crd(module: tuple[str, str], relative: str) -> dict:
    return yaml.safe_load((module_dir(*module) / relative).read_text())


@functools.cache
def keda_crds() -> dict[str, dict]:
    base = "config/crd/bases"
    return {
        "ScaledObject": crd(KEDA, f"{base}/keda.sh_scaledobjects.yaml"),
        "TriggerAuthentication": crd(KEDA, f"{base}/keda.sh_triggerauthentications.yaml"),
    }


@functools.cache
def prometheus_operator_crds() -> dict[str, dict]:
    base = "example/prometheus-operator-crd"
    return {
        kind: crd(PROMETHEUS_OPERATOR, f"{base}/monitoring.coreos.com_{plural}.yaml")
        for kind, plural in (
            ("PodMonitor", "podmonitors"),
            ("ServiceMonitor", "servicemonitors"),
            ("PrometheusRule", "prometheusrules"),
        )
    }


def keda_redis_script() -> str:
    """The Lua script KEDA's redis scaler runs (EVAL) to read a list's length."""
    source = (module_dir(*KEDA) / "pkg/scalers/redis_scaler.go").read_text()
    match = re.search(r"luaScript := `(.*?)`", source, re.S)
    assert match, "KEDA's redis scaler no longer defines luaScript: read it again"
    return match.group(1)
