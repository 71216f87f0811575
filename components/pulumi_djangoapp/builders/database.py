"""The in-cluster PostgreSQL: a one-replica StatefulSet with its Services.

The official image runs as an arbitrary non-root UID when its data directory is writable
(``fsGroup``), reads the password from ``POSTGRES_PASSWORD_FILE``, and with a read-only root
filesystem needs writable ``/var/run/postgresql`` and ``/tmp``.
"""

from __future__ import annotations

from typing import Any, Optional

from ..settings.app import Settings
from .labels import DATABASE, labels, selector_labels
from .secret_files import SECRET_FILE_MODE, credentials_secret_name
from .security import container, pod_security_context

POSTGRES_UID = 10999

DATA_MOUNT_PATH = "/var/lib/postgresql/data"

PASSWORD_MOUNT_PATH = "/run/secrets/postgres"

PASSWORD_KEY = "password"


def statefulset_name(s: Settings) -> str:
    return f"{s.name}-postgres"


def service_name(s: Settings) -> str:
    return f"{s.name}-postgres"


def headless_service_name(s: Settings) -> str:
    return f"{s.name}-postgres-headless"


def _metadata(s: Settings, name: str) -> dict:
    return {"name": name, "namespace": s.namespace, "labels": labels(s.name, DATABASE)}


def _pg_isready(s: Settings, period: int, failures: int) -> dict:
    db = s.database
    return {
        # TCP on loopback: during first-boot initdb the server listens on its socket only, so the
        # pod is not ready until the real server is up.
        "exec": {
            "command": [
                "pg_isready",
                "-h",
                "127.0.0.1",
                "-p",
                str(db.port),
                "-U",
                db.username,
                "-d",
                db.database_name,
            ]
        },  # fmt: skip
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 5,
    }


def postgres_container(s: Settings) -> dict:
    db = s.database
    return container(
        "postgres",
        db.image,
        s.image_pull_policy,
        POSTGRES_UID,
        ports=[{"name": "postgres", "containerPort": db.port, "protocol": "TCP"}],
        env=[
            {"name": "POSTGRES_USER", "value": db.username},
            {"name": "POSTGRES_DB", "value": db.database_name},
            {"name": "POSTGRES_PASSWORD_FILE", "value": f"{PASSWORD_MOUNT_PATH}/{PASSWORD_KEY}"},
            # A subdirectory: the volume root may hold lost+found, which initdb refuses.
            {"name": "PGDATA", "value": f"{DATA_MOUNT_PATH}/pgdata"},
        ],
        resources=db.resources.manifest(),
        volumeMounts=[
            {"name": "data", "mountPath": DATA_MOUNT_PATH},
            {"name": "password", "mountPath": PASSWORD_MOUNT_PATH, "readOnly": True},
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        # First boot runs initdb: give it up to five minutes.
        startupProbe=_pg_isready(s, period=5, failures=60),
        readinessProbe=_pg_isready(s, period=10, failures=3),
        livenessProbe=_pg_isready(s, period=20, failures=6),
    )


DATA_VOLUME = "data"

# Server-side apply of the claim takes over the size field from the StatefulSet controller,
# which created the claim (pulumi-kubernetes: Patch resources, `pulumi.com/patchForce`).
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"

# The claim patch is applied after the StatefulSet's pod runs, so its claim is Bound. pulumi-
# kubernetes awaits a claim of a WaitForFirstConsumer class (the stacks' EBS classes) until its
# phase is *Pending* (provider/pkg/await/awaiters.go, untilCoreV1PersistentVolumeClaimReady), which
# a bound claim never is again: every up failed after 5 minutes on a real API server (found by
# e2e/lifecycle.py). A size patch has nothing to await.
CLAIM_PATCH_ANNOTATIONS = {PATCH_FORCE_ANNOTATION: "true", "pulumi.com/skipAwait": "true"}

# The field of the StatefulSet that the API server never lets change; see data_claim_patch.
IMMUTABLE_CLAIM_TEMPLATES = "spec.volumeClaimTemplates"


def _claim_spec(s: Settings) -> dict:
    db = s.database
    claim_spec: dict = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": db.storage_size}},
    }
    if db.storage_class:
        claim_spec["storageClassName"] = db.storage_class
    return claim_spec


def data_claim_name(s: Settings) -> str:
    """The claim the StatefulSet controller creates for its one pod: <template>-<set>-0."""
    return f"{DATA_VOLUME}-{statefulset_name(s)}-0"


def data_claim_patch(s: Settings) -> dict:
    """The live data claim, patched to the wanted size.

    ``volumeClaimTemplates`` is immutable: a changed size there would replace the StatefulSet
    (a protected one fails `up`; an unprotected one goes down, and the new template would not
    even resize the existing claim). So the component ignores changes to the template and
    states the size on the claim itself. A larger size expands the volume in place (its class
    needs ``allowVolumeExpansion``); a smaller one is refused by the API server ("can not be less
    than previous value"), which `pulumi preview` reports from its server-side dry run.

    The class is never in the patch: the template sets it when the claim is created, and the
    class of a bound claim cannot change (``spec`` is immutable but for the storage request,
    k8s.io/kubernetes ``pkg/apis/core/validation`` ``ValidatePersistentVolumeClaimUpdate``).
    Under mocks and at preview nobody knows whether the claim is bound, so a class named later
    (an upgrade that names one) must not reach it; the component warns when the live claim's
    class differs (``class_drift_warning``).
    """
    spec = _claim_spec(s)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            **_metadata(s, data_claim_name(s)),
            "annotations": dict(CLAIM_PATCH_ANNOTATIONS),
        },
        "spec": {"resources": spec["resources"]},
    }


def class_drift_warning(wanted: Optional[str], live: Optional[str], claim: str) -> Optional[str]:
    """What to say when the stack names a class the live claim does not have."""
    if not wanted or not live or wanted == live:
        return None
    return (
        f"the claim {claim} has StorageClass {live!r}, the stack names {wanted!r}: a bound claim "
        "keeps its class (the API server refuses to change it), so the data stays where it is; to "
        "move it to the new class see docs/runbooks/volume-growth.md"
    )


def statefulset(s: Settings) -> dict:
    claim_spec = _claim_spec(s)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _metadata(s, statefulset_name(s)),
        "spec": {
            "replicas": 1,
            "serviceName": headless_service_name(s),
            "selector": {"matchLabels": selector_labels(s.name, DATABASE)},
            "updateStrategy": {"type": "RollingUpdate"},
            # Deleting the stack or scaling down must never delete the data volume.
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
            "template": {
                "metadata": {"labels": labels(s.name, DATABASE)},
                "spec": {
                    "serviceAccountName": statefulset_name(s),
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": pod_security_context(POSTGRES_UID),
                    "containers": [postgres_container(s)],
                    "volumes": [
                        {
                            "name": "password",
                            "secret": {
                                "secretName": credentials_secret_name(s),
                                "defaultMode": SECRET_FILE_MODE,
                                "items": [{"key": PASSWORD_KEY, "path": PASSWORD_KEY}],
                            },
                        },
                        {"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                    ],
                },
            },
            "volumeClaimTemplates": [{"metadata": {"name": DATA_VOLUME}, "spec": claim_spec}],
        },
    }


def _service(s: Settings, name: str, extra: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(s, name),
        "spec": {
            **extra,
            "selector": selector_labels(s.name, DATABASE),
            "ports": [
                {
                    "name": "postgres",
                    "port": s.database.port,
                    "targetPort": "postgres",
                    "protocol": "TCP",
                }
            ],
        },
    }


def service(s: Settings) -> dict:
    return _service(s, service_name(s), {"type": "ClusterIP"})


def headless_service(s: Settings) -> dict:
    """Gives the StatefulSet's pod its stable DNS name."""
    return _service(s, headless_service_name(s), {"clusterIP": "None"})


def service_account(s: Settings) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _metadata(s, statefulset_name(s)),
        "automountServiceAccountToken": False,
    }


def _tls(s: Settings) -> dict[str, str]:
    """RDS: verify the server against the CA bundle fetch-secrets downloads (verify-full checks
    the certificate's chain and that it names the host; require would check neither)."""
    if s.database.provider != "rds":
        return {}
    from .rds import CA_FILE

    return {"sslmode": "verify-full", "sslrootcert": f"{s.secrets_mount_path}/{CA_FILE}"}


def database_document(s: Settings, password: Any, host: Optional[str] = None) -> dict:
    """RDS-style credentials document (the shape AWS rotation functions expect), plus TLS."""
    db = s.database
    return {
        "engine": "postgres",
        "host": host or s.database_host,
        "port": db.port,
        "dbname": db.database_name,
        "username": db.username,
        "password": password,
        **_tls(s),
    }


def database_url(s: Settings, password: str, host: Optional[str] = None) -> str:
    """The URL the app reads from its secret file (the password is alphanumeric: no escaping;
    the CA path is the component's own mount path, plain URL characters)."""
    db = s.database
    tls = _tls(s)
    query = ("?" + "&".join(f"{k}={v}" for k, v in tls.items())) if tls else ""
    return f"postgres://{db.username}:{password}@{host or s.database_host}:{db.port}/{db.database_name}{query}"
