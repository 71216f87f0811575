"""The ``<app>-db-role`` Job of an RDS database: pure builders from ``Settings``.

``fetch-credentials`` (AWS CLI image, the ``<app>-db-admin`` ServiceAccount's role: the master
secret and the app's database secret, nothing else) writes to an in-memory volume; then
``create-role`` (the PostgreSQL image, no cloud credentials) runs the idempotent SQL of
``rds.ROLE_SQL`` over TLS. The Job runs before the migrations and whenever its spec changes
(a new address, user or database); it is replaced, not patched, because a Job's template is
immutable.
"""

from __future__ import annotations

import dataclasses

from . import fetch, rds, security
from .fetch import AwsRefs
from .labels import DB_ADMIN, labels, metadata
from .migrations import REPLACE_UNREADY_ANNOTATION
from .security import container, pod_security_context
from .settings import Settings
from .workload_identity import SKIP_CONTAINERS_ANNOTATION

RESOURCES = {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
WORK_VOLUME = "work"


def _cloud_env(s: Settings, refs: AwsRefs) -> list[dict]:
    env = [
        {"name": "MASTER_SECRET_ID", "value": refs.master_secret_arn},
        {"name": "DATABASE_SECRET_ID", "value": refs.secret_ids[fetch.DATABASE_JSON_KEY]},
        {"name": "CA_BUNDLE_URL", "value": refs.ca_bundle_url},
        {"name": "WORK_DIR", "value": rds.WORK_DIR},
        # The admin role, never the fetch role of the app's pods.
        *fetch.aws_env(s, dataclasses.replace(refs, role_arn=refs.db_admin_role_arn)),
    ]
    return [{**e, "value": rds.admin_account(s.name)} if e["name"] == "AWS_ROLE_SESSION_NAME" else e for e in env]


def fetch_credentials_container(s: Settings, refs: AwsRefs) -> dict:
    assert s.aws is not None
    mounts = [{"name": WORK_VOLUME, "mountPath": rds.WORK_DIR}, {"name": fetch.HOME_VOLUME, "mountPath": fetch.HOME_DIR}]
    if s.aws.workload_identity:
        mounts.append({"name": fetch.TOKEN_VOLUME, "mountPath": fetch.TOKEN_DIR, "readOnly": True})
    return container(
        "fetch-credentials",
        s.aws.cli_image,
        s.image_pull_policy,
        s.run_as_user,
        command=["sh", "-c", rds.FETCH_CREDENTIALS_SCRIPT],
        env=_cloud_env(s, refs),
        resources=RESOURCES,
        volumeMounts=mounts,
    )


def create_role_container(s: Settings, refs: AwsRefs) -> dict:
    db = s.database
    return container(
        "create-role",
        db.image,
        s.image_pull_policy,
        s.run_as_user,
        command=["sh", "-c", rds.CREATE_ROLE_SCRIPT],
        env=rds.role_job_env(db.username, db.database_name, refs.database_host, db.port),
        resources=RESOURCES,
        volumeMounts=[{"name": WORK_VOLUME, "mountPath": rds.WORK_DIR, "readOnly": True}, {"name": "tmp", "mountPath": "/tmp"}],
    )


def pod_spec(s: Settings, refs: AwsRefs) -> dict:
    return {
        "serviceAccountName": rds.admin_account(s.name),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(s.run_as_user),
        "initContainers": [fetch_credentials_container(s, refs)],
        "containers": [create_role_container(s, refs)],
        "volumes": [
            # Memory: the master password never touches a disk.
            {"name": WORK_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "4Mi"}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
            *fetch.volumes(s),
        ],
        "restartPolicy": "Never",
    }


def role_job(s: Settings, refs: AwsRefs) -> dict:
    pod_labels = labels(s.name, DB_ADMIN)
    template_metadata: dict = {"labels": pod_labels}
    if s.aws is not None and s.aws.pod_identity:
        # The webhook would give the admin role to every container: only the fetch step gets it.
        template_metadata["annotations"] = {SKIP_CONTAINERS_ANNOTATION: "create-role"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": rds.role_job_name(s.name),
            "namespace": s.namespace,
            "labels": pod_labels,
            "annotations": {REPLACE_UNREADY_ANNOTATION: "true"},
        },
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": rds.ROLE_JOB_DEADLINE_SECONDS,
            "template": {"metadata": template_metadata, "spec": pod_spec(s, refs)},
        },
    }


def service_account(s: Settings) -> dict:
    return security.service_account(metadata(rds.admin_account(s.name), s.namespace, s.name, DB_ADMIN))
