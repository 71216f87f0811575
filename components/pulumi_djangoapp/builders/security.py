"""Pod Security Standard "restricted", applied to every container the component creates."""

from __future__ import annotations


def container_security_context(uid: int) -> dict:
    """No privilege escalation, no capabilities, non-root, read-only root filesystem.

    The UID is set on the container too (not only the pod) so a scanner, or an admission policy
    reading one container at a time, sees a non-root user without resolving the pod.
    """
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context(uid: int) -> dict:
    """fsGroup makes mounted volumes (data, secret files) readable by the non-root user."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        # Re-chowning a large Postgres volume on every start is slow; only do it when needed.
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container(name: str, image: str, pull_policy: str, uid: int, **fields) -> dict:
    """Every container the component builds starts here: name, image, pull policy and the
    restricted security context, so none can be built without them."""
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": pull_policy,
        **fields,
        "securityContext": container_security_context(uid),
    }


def service_account(metadata: dict) -> dict:
    """A ServiceAccount whose token is never mounted automatically (pods that need one project it)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata,
        "automountServiceAccountToken": False,
    }
