"""Pictures of a render: the resource graph and each pod's start order, as Graphviz.

``graph.dot``: every resource in the box of its component (DjangoApp, AppSecrets, ConfigBucket),
an arrow from each resource to what it waits for (``dependsOn`` and inputs taken from another
resource's outputs), protected resources drawn
bold. ``pods.dot``: for every workload, its containers in start order (native sidecars, init
steps, then the app), each with its requests and limits. The ``.dot`` files are always written;
``.svg`` next to them when Graphviz's ``dot`` is on the PATH (``make`` installs Debian's
``graphviz``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterable, Optional

_WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob")


def dot_binary() -> Optional[str]:
    return shutil.which("dot")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _short(type_: str) -> str:
    """``kubernetes:apps/v1:Deployment`` -> ``Deployment``; ``aws:s3/bucket:Bucket`` -> ``s3 Bucket``."""
    package, module, kind = (type_.split(":") + ["", ""])[:3]
    if package == "aws":
        return f"{module.split('/')[0]} {kind}"
    return kind or type_


def resource_graph(resources: Iterable[dict]) -> str:
    resources = list(resources)
    children: dict[Optional[str], list[dict]] = {}
    for r in resources:
        children.setdefault(r.get("parent"), []).append(r)
    names = {r["name"] for r in resources}
    lines = [
        "digraph resources {",
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
        "  compound=true;",
    ]

    def emit(parent: Optional[str], indent: str) -> None:
        for r in children.get(parent, []):
            if not r["custom"] and r["name"] in children:
                lines.append(f"{indent}subgraph {_quote('cluster_' + r['name'])} {{")
                lines.append(f"{indent}  label={_quote(_short(r['type']) + ' ' + r['name'])};")
                lines.append(f"{indent}  {_quote(r['name'])} [shape=point, style=invis];")
                emit(r["name"], indent + "  ")
                lines.append(f"{indent}}}")
            else:
                style = ", style=bold" if r["options"].get("protect") else ""
                lines.append(
                    f"{indent}{_quote(r['name'])} [label={_quote(r['name'] + chr(10) + _short(r['type']))}{style}];"
                )

    emit(None, "  ")
    # Parents outside the program (the stack) hold the top-level resources.
    for parent in [p for p in children if p is not None and p not in names]:
        emit(parent, "  ")
    for r in resources:
        for dependency in r["options"].get("dependencies", []):
            if dependency in names:
                lines.append(f"  {_quote(r['name'])} -> {_quote(dependency)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _pod_spec(obj: dict) -> Optional[dict]:
    spec = obj.get("spec", {})
    if obj.get("kind") == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    return spec.get("template", {}).get("spec")


def _resources(container: dict) -> str:
    r = container.get("resources", {})
    parts = [
        f"{k} {', '.join(f'{n}={q}' for n, q in sorted(v.items()))}"
        for k, v in (("req", r.get("requests", {})), ("lim", r.get("limits", {})))
        if v
    ]
    return "\n".join(parts)


def pod_graph(objects: Iterable[dict]) -> str:
    lines = [
        "digraph pods {",
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
    ]
    for obj in objects:
        if obj.get("kind") not in _WORKLOADS:
            continue
        pod = _pod_spec(obj)
        if not pod:
            continue
        workload = f"{obj['kind']} {obj['metadata']['name']}"
        lines.append(f"  subgraph {_quote('cluster_' + workload)} {{")
        lines.append(f"    label={_quote(workload)};")
        previous = None
        steps: list[tuple[str, dict]] = [
            ("sidecar" if c.get("restartPolicy") == "Always" else "init", c)
            for c in pod.get("initContainers", [])
        ] + [("app", c) for c in pod.get("containers", [])]
        for i, (role, c) in enumerate(steps, 1):
            node = f"{workload}/{c['name']}"
            shape = (
                ", style=rounded"
                if role == "sidecar"
                else (", style=bold" if role == "app" else "")
            )
            label = f"{i}. {c['name']} ({role})\n{_resources(c)}"
            lines.append(f"    {_quote(node)} [label={_quote(label)}{shape}];")
            if previous:
                lines.append(f"    {_quote(previous)} -> {_quote(node)};")
            previous = node
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(result: Any, out: Path) -> list[Path]:
    """Write the ``.dot`` files, and ``.svg`` where ``dot`` exists; returns what was written."""
    written = []
    for name, text in (
        ("graph", resource_graph(result.resources)),
        ("pods", pod_graph(result.kubernetes)),
    ):
        path = out / f"{name}.dot"
        path.write_text(text)
        written.append(path)
        binary = dot_binary()
        if binary:
            svg = out / f"{name}.svg"
            subprocess.run(
                [binary, "-Tsvg", str(path), "-o", str(svg)],
                check=True,
                capture_output=True,
                timeout=60,
            )
            written.append(svg)
    return written
