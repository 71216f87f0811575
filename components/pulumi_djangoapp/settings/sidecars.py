from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, NotRequired, Optional, TypedDict

from .checks import (
    Problems,
    checked_absolute_path,
    checked_image,
    checked_int,
    checked_mapping,
    checked_probe,
    checked_string_list,
    dns_label_problem,
    given,
    is_int,
    unknown_keys,
)
from .env import checked_env
from .resources import Resources, ResourcesArgs, checked_resources


class SidecarArgs(TypedDict):
    """A native sidecar: started before the init steps, stopped after the app."""

    name: str
    """Container name: a DNS-1123 label not used by the component's own containers. Required."""
    image: str
    """Pinned image reference (tag or digest, never ``latest``). Required."""
    command: NotRequired[List[str]]
    """Entrypoint override. Default: the image's entrypoint."""
    args: NotRequired[List[str]]
    """Arguments. Default: the image's command."""
    env: NotRequired[Dict[str, str]]
    """Non-secret environment variables. Default: none."""
    resources: NotRequired[ResourcesArgs]
    """Requests and limits. Default: requests cpu 50m / memory 64Mi, limits cpu 200m / memory
    128Mi."""
    ports: NotRequired[List[int]]
    """TCP ports the sidecar listens on (must differ from the app's port). Default: none."""
    startup_probe: NotRequired[Dict[str, Any]]
    """A Kubernetes probe (``{"httpGet": {"path": "/", "port": 2020}}``; snake_case keys are
    accepted). Later init steps wait until it passes. Default: none (started = process running)."""
    volume_mounts: NotRequired[Dict[str, str]]
    """Shared volumes to mount, by name (``config``: read-only app config; ``logs``: the app's log
    directory) to a mount path. Default: none; the sidecar always gets its own ``/tmp``."""


# Names of the containers the component itself puts into the pod; sidecars may not reuse them.
BUILTIN_CONTAINERS = (
    "django", "fetch-config", "fetch-secrets", "wait-for-db", "migrate", "wait-for-migrations",
    "postgres",
)  # fmt: skip

SHARED_VOLUMES = ("config", "logs")

# Leaves room for the sidecar's own "tmp-<name>" volume within 63 characters.
MAX_SIDECAR_NAME_LENGTH = 50

DEFAULT_SIDECAR_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "200m", "memory": "128Mi"},
}


@dataclass(frozen=True)
class SidecarSettings:
    name: str
    image: str
    command: Optional[tuple[str, ...]]
    args: Optional[tuple[str, ...]]
    env: tuple[tuple[str, str], ...]
    resources: Resources
    ports: tuple[int, ...]
    startup_probe: Optional[Mapping[str, Any]]
    volume_mounts: tuple[tuple[str, str], ...]


def checked_sidecar(
    problems: Problems, index: int, raw: Any, app_port: Any
) -> Optional[SidecarSettings]:
    field = f"sidecars[{index}]"
    if not isinstance(raw, Mapping):
        problems.add(field, raw, "must be a mapping with at least name and image")
        return None
    raw = given(raw)
    unknown_keys(problems, raw, SidecarArgs, f"{field}.")
    name = raw.get("name")
    problem = dns_label_problem(name, MAX_SIDECAR_NAME_LENGTH)
    if problem:
        problems.add(f"{field}.name", name, problem)
    elif name in BUILTIN_CONTAINERS:
        problems.add(
            f"{field}.name", name, f"is a built-in container name ({', '.join(BUILTIN_CONTAINERS)})"
        )
    if "image" not in raw:
        problems.add(f"{field}.image", None, "is required: a pinned image reference")
        image = ""
    else:
        image = checked_image(problems, f"{field}.image", raw["image"])

    ports = raw.get("ports") or []
    if not isinstance(ports, (list, tuple)):
        problems.add(f"{field}.ports", ports, "must be a list of port numbers")
        ports = []
    for i, port in enumerate(ports):
        checked_int(problems, f"{field}.ports[{i}]", port, 1, 65535)
        if port == app_port:
            problems.add(
                f"{field}.ports[{i}]", port, "clashes with the app's port (one pod, one network)"
            )
        elif port in ports[:i]:
            problems.add(f"{field}.ports[{i}]", port, "is listed twice")

    mounts = []
    for volume, path in checked_mapping(
        problems, f"{field}.volume_mounts", raw.get("volume_mounts")
    ).items():
        if volume not in SHARED_VOLUMES:
            problems.add(
                f"{field}.volume_mounts.{volume}",
                path,
                f"unknown shared volume; known: {', '.join(SHARED_VOLUMES)}",
            )
            continue
        mount = checked_absolute_path(problems, f"{field}.volume_mounts.{volume}", path)
        if mount == "/tmp":
            problems.add(
                f"{field}.volume_mounts.{volume}",
                path,
                "'/tmp' is the sidecar's own scratch volume",
            )
        elif mount in (m for _, m in mounts):
            problems.add(
                f"{field}.volume_mounts.{volume}",
                path,
                "is the mount path of another volume of this sidecar",
            )
        mounts.append((volume, mount))

    return SidecarSettings(
        name=name if isinstance(name, str) else "",
        image=image,
        command=checked_string_list(problems, f"{field}.command", raw.get("command")),
        args=checked_string_list(problems, f"{field}.args", raw.get("args")),
        env=checked_env(problems, f"{field}.env", raw.get("env")),
        resources=checked_resources(
            problems, f"{field}.resources", raw.get("resources"), DEFAULT_SIDECAR_RESOURCES
        ),
        ports=tuple(p for p in ports if is_int(p)),
        startup_probe=checked_probe(problems, f"{field}.startup_probe", raw.get("startup_probe")),
        volume_mounts=tuple(sorted(mounts)),
    )
