"""Each built object carries its registration facts; these tests tie the facts to the objects
themselves, so a new object kind with the wrong (or no) facts fails here, not in a cluster."""

import dataclasses

import pytest
from conftest import MINIMAL, REFS

from pulumi_djangoapp.builders import manifests
from pulumi_djangoapp.builders.secret_files import credentials_secret_name
from pulumi_djangoapp.settings import normalise

WORKER = {
    "name": "worker",
    "command": ["celery", "-A", "project", "worker"],
    "autoscaling": {"max_replicas": 4},
}
BEAT = {"name": "beat", "command": ["celery", "-A", "project", "beat"], "singleton": True}
CLEAR = {
    "name": "clearsessions",
    "schedule": "0 3 * * *",
    "command": ["python", "manage.py", "clearsessions"],
}
EVERYTHING = {
    **MINIMAL,
    "migrations": "job",
    "broker": {},
    "processes": [WORKER, BEAT],
    "schedules": [CLEAR],
    "backups": {},
    "autoscaling": {"max_replicas": 6},
    "ingress": {"hosts": ["shop.example.com"], "ingress_cidrs": ["10.0.0.0/24"]},
}
SECRETS = dict.fromkeys((*manifests.SECRET_VALUES, *manifests.BROKER_SECRET_VALUES), "[secret]")
REFS_WITH_BROKER = dataclasses.replace(
    REFS,
    secret_ids={**REFS.secret_ids, "broker-url": "arn:aws:secretsmanager:eu-west-3:1:secret:b"},
)
BACKUP_REFS = dataclasses.replace(
    REFS, secret_ids={}, bucket="shop-backups", role_arn="arn:aws:iam::1:role/backup"
)


def built(args=EVERYTHING):
    s = normalise("shop", args)
    return s, manifests.built_objects(s, SECRETS, REFS_WITH_BROKER, BACKUP_REFS)


def images(obj):
    template = manifests.pod_template(obj) or {}
    return {
        c["image"] for c in (*template.get("initContainers", []), *template.get("containers", []))
    }


def test_everything_on_builds_every_kind_of_pod():
    _, objects = built()
    kinds = {b.object["kind"] for b in objects}
    assert {"Deployment", "StatefulSet", "Job", "CronJob"} <= kinds
    assert {"backup", "schedule-clearsessions", "process-worker", "migration-job"} <= {
        b.role for b in objects
    }


def test_objects_that_run_the_app_are_exactly_those_whose_pods_run_the_app_image():
    s, objects = built()
    assert {b.role for b in objects if b.facts.runs_app} == {
        b.role for b in objects if s.image in images(b.object)
    }


def test_objects_that_hold_data_are_exactly_the_stateful_sets_with_claim_templates():
    _, objects = built()
    with_claims = {
        b.role
        for b in objects
        if b.object["kind"] == "StatefulSet" and b.object["spec"].get("volumeClaimTemplates")
    }
    assert {b.role for b in objects if b.facts.holds_data} == with_claims == {"postgres", "broker"}


def test_every_object_mounting_the_credentials_secret_says_so():
    kubernetes_backend = {
        **EVERYTHING,
        "secrets_backend": "kubernetes",
        "oidc_provider_arn": None,
        "oidc_provider_url": None,
    }
    del kubernetes_backend["backups"]  # backups upload to S3: they need the AWS backend
    s = normalise("shop", kubernetes_backend)
    objects = manifests.built_objects(s, SECRETS)
    name = credentials_secret_name(s)
    mounting = {
        b.role
        for b in objects
        if any(
            v.get("secret", {}).get("secretName") == name
            for v in (manifests.pod_template(b.object) or {}).get("volumes", [])
        )
    }
    assert mounting and mounting <= {b.role for b in objects if b.facts.mounts_credentials}


def test_a_patch_names_a_registered_object_that_holds_data():
    _, objects = built()
    roles = {b.role: b for b in objects}
    patches = [b for b in objects if b.facts.patches]
    assert {b.role for b in patches} == {"postgres-data", "broker-data"}
    assert all(roles[b.facts.patches].facts.holds_data for b in patches)


def test_jobs_are_replaced_and_awaited_and_only_jobs_are_replaced():
    _, objects = built()
    assert {b.role for b in objects if b.facts.replace_on_change} == {
        b.role for b in objects if b.object["kind"] == "Job"
    }
    assert all(b.facts.await_seconds for b in objects if b.object["kind"] in ("Job", "Deployment"))


def test_only_what_an_autoscaler_scales_ignores_its_replica_count():
    _, objects = built()
    scaled = {
        h.object["spec"]["scaleTargetRef"]["name"]
        for h in objects
        if h.object["kind"] == "HorizontalPodAutoscaler"
    }
    ignoring = {
        b.object["metadata"]["name"] for b in objects if "spec.replicas" in b.facts.ignore_changes
    }
    assert ignoring == scaled == {"shop", "shop-worker"}


@pytest.mark.parametrize("field", ["runs_app", "holds_data"])
def test_a_wrong_fact_cannot_pass_the_checks(field):
    # Negative control: the web Deployment said to hold data, or the migration Job said not to
    # run the app, is what the comparisons above see.
    s, objects = built()
    role = {"runs_app": "migration-job", "holds_data": "deployment"}[field]
    flipped = [
        dataclasses.replace(
            b, facts=dataclasses.replace(b.facts, **{field: not getattr(b.facts, field)})
        )
        if b.role == role
        else b
        for b in objects
    ]
    if field == "runs_app":
        assert {b.role for b in flipped if b.facts.runs_app} != {
            b.role for b in flipped if s.image in images(b.object)
        }
    else:
        assert {b.role for b in flipped if b.facts.holds_data} != {"postgres", "broker"}


def test_every_object_with_a_pod_template_reports_its_pod_kind():
    _, objects = built()
    assert [
        b.role
        for b in objects
        if manifests.pod_template(b.object) is not None and not b.facts.pod_kind
    ] == []


def test_every_pod_kind_appears_in_the_effective_resources_output():
    from harness import run_program

    from pulumi_djangoapp import DjangoApp

    run = run_program(lambda: DjangoApp("shop", EVERYTHING).effective_resources)
    assert set(run.result) == {b.facts.pod_kind for b in built()[1] if b.facts.pod_kind}
    assert "backup" in run.result
