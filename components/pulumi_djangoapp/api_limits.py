"""What the Kubernetes API server can store and accepts, beyond what the JSON schemas say.

The schemas type replicas, ports and seconds as integers but not their width; the API server
stores them as int32 or int64 and refuses a larger value only when the object is applied, long
after `pulumi preview` said yes. These are the bounds (k8s.io/api core/v1, apps/v1, batch/v1
types: ``int32`` / ``int64`` fields) and the rules of probes that validation code in
k8s.io/kubernetes ``pkg/apis/core/validation`` enforces.
"""

from __future__ import annotations

from typing import Any, Mapping

from .validation import Problems, is_int

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
PORT_MAX = 65535
# Every environment variable and argument of a pod travels in one object; etcd refuses requests
# over 1.5 MiB. The Deployment carries the app's env twice (django and migrate) and the Job once
# more, so the user's env is held far below that.
MAX_ENV_BYTES = 128 * 1024
# A path component on ext4/xfs (the kubelet writes config files there) and a ConfigMap key.
MAX_FILE_NAME_BYTES = 255
MAX_CONFIGMAP_KEY = 253

PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
# field -> (minimum, maximum) for a probe (validateProbe / ValidateNonnegativeField).
PROBE_NUMBERS = {
    "initialDelaySeconds": (0, INT32_MAX),
    "periodSeconds": (1, INT32_MAX),
    "timeoutSeconds": (1, INT32_MAX),
    "successThreshold": (1, INT32_MAX),
    "failureThreshold": (1, INT32_MAX),
    "terminationGracePeriodSeconds": (1, INT64_MAX),
}
PROBE_FIELDS = PROBE_HANDLERS + tuple(PROBE_NUMBERS)


def _port_problem(port: Any, named_allowed: bool) -> str | None:
    if is_int(port) and 1 <= port <= PORT_MAX:
        return None
    if named_allowed and isinstance(port, str) and 1 <= len(port) <= 15 and port.replace("-", "").isalnum() and port[0].isalpha():
        return None
    return "must be a port number from 1 to 65535" + (" or a port name" if named_allowed else "")


def probe_problems(problems: Problems, field: str, probe: Mapping[str, Any], kind: str) -> None:
    """What the API server would refuse in a probe of ``kind`` (startup, liveness, readiness)."""
    for name, (low, high) in PROBE_NUMBERS.items():
        if name in probe and (not is_int(probe[name]) or not low <= probe[name] <= high):
            problems.add(f"{field}.{name}", probe[name], f"must be an integer from {low} to {high}")
    if kind in ("startup", "liveness") and probe.get("successThreshold", 1) != 1:
        problems.add(f"{field}.successThreshold", probe["successThreshold"], f"must be 1 for a {kind} probe")
    for handler in PROBE_HANDLERS:
        spec = probe.get(handler)
        if spec is None:
            continue
        where = f"{field}.{handler}"
        if not isinstance(spec, Mapping):
            problems.add(where, spec, "must be a mapping")
            continue
        if handler == "exec":
            command = spec.get("command")
            if not isinstance(command, (list, tuple)) or not command or not all(isinstance(c, str) and c for c in command):
                problems.add(f"{where}.command", command, "must be a non-empty list of strings")
            continue
        if "port" not in spec:
            problems.add(f"{where}.port", None, "is required: the port the kubelet probes")
            continue
        problem = _port_problem(spec["port"], named_allowed=handler != "grpc")
        if problem:
            problems.add(f"{where}.port", spec["port"], problem)
        if handler == "httpGet" and "path" in spec and (not isinstance(spec["path"], str) or not spec["path"].startswith("/")):
            problems.add(f"{where}.path", spec["path"], "must be an absolute URL path such as '/ready'")
