"""Checks the component deliberately does not satisfy, declared where scanners read them.

Each skip is an annotation on the object (``checkov.io/skipN: CHECK=reason``) and is listed in
the README; it is added only when it applies, so fixing the cause removes the skip.
"""

from __future__ import annotations

DIGEST_SKIP = (
    "CKV_K8S_43",
    "images are pinned by tag: DjangoApp refuses untagged and :latest images; pass image@sha256 "
    "digests to pin them fully",
)


def _images(pod_spec: dict) -> list[str]:
    containers = [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]
    return [c["image"] for c in containers]


def skip_annotations(pod_spec: dict) -> dict[str, str]:
    """The checkov skips that apply to a workload with this pod spec."""
    skips: list[tuple[str, str]] = []
    if any("@sha256:" not in image for image in _images(pod_spec)):
        skips.append(DIGEST_SKIP)
    return {
        f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(skips, 1)
    }


def annotate(workload: dict, pod_spec: dict) -> dict:
    annotations = skip_annotations(pod_spec)
    if annotations:
        merged = {**workload["metadata"].get("annotations", {}), **annotations}
        workload["metadata"] = {**workload["metadata"], "annotations": merged}
    return workload
