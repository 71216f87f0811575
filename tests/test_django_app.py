import json

import pulumi
import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, OIDC
from harness import fake_password, run_program

from pulumi_djangoapp import DjangoApp, DjangoAppArgs, PostgresArgs, SidecarArgs, ValidationError
from pulumi_djangoapp.components.django_app import TYPE_TOKEN

LOG_SHIPPER = SidecarArgs(name="log-shipper", image="fluent/fluent-bit:3.2.4")


def outputs_of(app: DjangoApp) -> dict:
    return {
        "namespace": app.namespace,
        "deployment_name": app.deployment_name,
        "service_name": app.service_name,
        "database_service_name": app.database_service_name,
        "effective_pod_requests": app.effective_pod_requests,
        "effective_pod_limits": app.effective_pod_limits,
    }


KUBERNETES_KINDS = [
    "DjangoApp", "AppSecrets", "RandomPassword", "RandomPassword", "RandomId", "Namespace", "ServiceAccount",
    "ServiceAccount", "Secret", "StatefulSet", "PersistentVolumeClaimPatch", "Service", "Service", "Service",
    "Deployment", "PodDisruptionBudget", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy",
    # The rollback gate's Job (one per image).
    "Job",
]  # fmt: skip


def test_minimal_call_registers_both_the_kubernetes_and_the_aws_side():
    run = run_program(
        lambda: outputs_of(
            DjangoApp("shop", DjangoAppArgs(image="ghcr.io/acme/shop:1.4.2", **OIDC))
        )
    )
    kinds = sorted(r.kind for r in run.registrations)
    aws_kinds = [
        "ConfigBucket", "Bucket", "BucketPublicAccessBlock", "BucketOwnershipControls",
        "BucketServerSideEncryptionConfiguration", "BucketVersioning",
        "BucketLifecycleConfiguration", "BucketPolicy",
        "Secret", "Secret", "Secret", "SecretVersion", "SecretVersion", "SecretVersion",
        "Role", "RolePolicy",
    ]  # fmt: skip
    assert kinds == sorted(KUBERNETES_KINDS + aws_kinds)


def test_kubernetes_backend_registers_no_aws_resource():
    run = run_program(lambda: outputs_of(DjangoApp("shop", KUBERNETES_ONLY)))
    assert sorted(r.kind for r in run.registrations) == sorted(KUBERNETES_KINDS + ["ConfigMap"])
    assert not [r for r in run.registrations if r.type.startswith("aws:")]


def test_component_uses_its_type_token():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).namespace)
    assert run.one("DjangoApp").type == TYPE_TOKEN


def test_children_are_named_after_the_component_and_parented_to_it():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).namespace)
    component = run.one("DjangoApp")
    components = {r.urn for r in run.registrations if not r.custom}
    children = [r for r in run.registrations if r is not component]
    assert children
    for child in children:
        assert child.name.startswith("shop-"), child.name
        assert child.parent in components, child.name
    direct = {r.kind for r in children if r.parent == component.urn}
    assert {"AppSecrets", "ConfigBucket", "Deployment", "StatefulSet"} <= direct


def test_outputs_are_attributes_and_registered_outputs():
    run = run_program(lambda: outputs_of(DjangoApp("shop", {**MINIMAL, "sidecars": [LOG_SHIPPER]})))
    assert run.result["namespace"] == "shop"
    assert run.result["deployment_name"] == "shop"
    assert run.result["service_name"] == "shop"
    assert run.result["database_service_name"] == "shop-postgres"
    # django 250m + sidecar 50m default; memory 256Mi + 64Mi.
    assert run.result["effective_pod_requests"] == {"cpu": "300m", "memory": "320Mi"}
    registered = run.outputs[run.one("DjangoApp").urn]
    assert registered["effective_pod_requests"] == run.result["effective_pod_requests"]
    assert set(run.result) <= set(registered)


def test_invalid_args_register_no_resource_at_all():
    with pytest.raises(ValidationError) as caught:
        run_program(
            lambda: DjangoApp("shop", {**OIDC, "image": "shop:latest", "replica": 3}).namespace
        )
    assert {p.field for p in caught.value.problems} == {"image", "replica"}
    run = run_program(lambda: _swallow(lambda: DjangoApp("shop", {"image": "shop"})))
    assert run.registrations == []


def _swallow(build):
    try:
        build()
    except ValidationError:
        pass
    return None


PASSWORD, SECRET_KEY = (
    fake_password("shop-secrets-db-password", 32),
    fake_password("shop-secrets-secret-key", 64),
)


@pytest.mark.parametrize("args, holders", [
    (KUBERNETES_ONLY, {"kubernetes:core/v1:Secret"}),
    (MINIMAL, {"kubernetes:core/v1:Secret", "aws:secretsmanager/secretVersion:SecretVersion"}),
])  # fmt: skip
def test_generated_secrets_appear_only_in_secret_stores(args, holders):
    run = run_program(lambda: outputs_of(DjangoApp("shop", args)))
    values = [PASSWORD, SECRET_KEY]
    seen = set()
    for registration in run.registrations:
        text = json.dumps(registration.inputs)
        if any(v in text for v in values):
            seen.add(registration.type)
    assert seen == holders
    assert not any(v in json.dumps(run.outputs) for v in values)
    assert not any(v in json.dumps(run.result) for v in values)


def test_secret_holds_the_database_url_for_the_in_cluster_service():
    run = run_program(lambda: DjangoApp("shop", KUBERNETES_ONLY).namespace)
    data = run.one("core/v1:Secret").inputs["stringData"]
    password = PASSWORD
    assert data["password"] == password
    assert (
        data["database-url"]
        == f"postgres://shop:{password}@shop-postgres.shop.svc.cluster.local:5432/shop"
    )


def test_workloads_wait_for_the_namespace_and_the_secret():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).namespace)
    secret, namespace = run.one("core/v1:Secret").urn, run.one("Namespace").urn
    for kind in ("Deployment", "StatefulSet"):
        assert {secret, namespace} <= set(run.one(kind).dependencies)


def test_existing_namespace_is_used_without_creating_or_locking_it_down():
    run = run_program(
        lambda: (
            DjangoApp("shop", {**MINIMAL, "create_namespace": False, "namespace": "apps"}).namespace
        )
    )
    assert run.of_type("Namespace") == []
    assert "shop-netpol-default-deny" not in [r.name for r in run.registrations]
    assert run.one("Deployment").inputs["metadata"]["namespace"] == "apps"


def test_single_replica_registers_no_pdb():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "replicas": 1}).namespace)
    assert run.of_type("PodDisruptionBudget") == []


def test_registered_deployment_carries_native_sidecar_first():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "sidecars": [LOG_SHIPPER]}).namespace)
    init = run.one("Deployment").inputs["spec"]["template"]["spec"]["initContainers"]
    assert [c["name"] for c in init] == [
        "log-shipper",
        "fetch-config",
        "fetch-secrets",
        "wait-for-db",
        "migrate",
    ]
    assert init[0]["restartPolicy"] == "Always"


def test_a_cluster_with_sidecars_logs_no_warning(monkeypatch):
    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, resource=None, **_: warnings.append(msg))
    run_program(lambda: DjangoApp("shop", {**MINIMAL, "sidecars": [LOG_SHIPPER]}).namespace)
    assert warnings == []


def test_database_args_reach_the_statefulset():
    args = {**MINIMAL, "database": PostgresArgs(storage_size="20Gi", image="postgres:16.4")}
    run = run_program(lambda: DjangoApp("shop", args).namespace)
    spec = run.one("StatefulSet").inputs["spec"]
    assert spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert spec["template"]["spec"]["containers"][0]["image"] == "postgres:16.4"


def test_two_apps_in_one_program_do_not_collide():
    def program():
        a = DjangoApp("web", {**MINIMAL})
        b = DjangoApp("admin", {**MINIMAL, "image": "ghcr.io/acme/admin:2.0.0"})
        return [a.namespace, b.namespace]

    run = run_program(program)
    urns = [r.urn for r in run.registrations]
    assert len(urns) == len(set(urns))
    assert run.result == ["web", "admin"]
