import pulumi
from conftest import MINIMAL
from harness import RecordingMocks, run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import database
from pulumi_djangoapp.settings import normalise


def settings(**db):
    return normalise("shop", {**MINIMAL, "database": db} if db else MINIMAL)


def test_postgres_runs_as_one_pinned_replica_with_a_claim_template():
    sts = database.statefulset(settings(storage_size="50Gi", storage_class="gp3"))
    spec = sts["spec"]
    assert spec["replicas"] == 1
    assert spec["serviceName"] == "shop-postgres-headless"
    claim = spec["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == "50Gi"
    assert claim["storageClassName"] == "gp3"
    assert ":" in spec["template"]["spec"]["containers"][0]["image"]


def test_claim_uses_the_cluster_default_class_when_none_is_given():
    claim = database.statefulset(settings())["spec"]["volumeClaimTemplates"][0]["spec"]
    assert "storageClassName" not in claim


def test_data_volume_is_retained_when_the_statefulset_goes():
    policy = database.statefulset(settings())["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy == {"whenDeleted": "Retain", "whenScaled": "Retain"}


def test_password_is_a_file_never_an_env_value():
    container = database.postgres_container(settings())
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres/password"
    assert "POSTGRES_PASSWORD" not in env
    volume = next(
        v
        for v in database.statefulset(settings())["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "password"
    )
    assert volume["secret"]["items"] == [{"key": "password", "path": "password"}]


def test_pgdata_is_a_subdirectory_of_the_mount():
    container = database.postgres_container(settings())
    env = {e["name"]: e.get("value") for e in container["env"]}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "data")
    assert env["PGDATA"].startswith(mount["mountPath"] + "/")


def test_read_only_root_has_writable_socket_and_tmp_dirs():
    container = database.postgres_container(settings())
    paths = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert {"/var/run/postgresql", "/tmp"} <= paths
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_postgres_pod_is_restricted_with_an_fsgroup_for_its_volume():
    pod = database.statefulset(settings())["spec"]["template"]["spec"]
    assert pod["securityContext"]["fsGroup"] == database.POSTGRES_UID
    assert pod["automountServiceAccountToken"] is False
    sc = pod["containers"][0]["securityContext"]
    assert (
        sc["runAsNonRoot"]
        and sc["capabilities"] == {"drop": ["ALL"]}
        and not sc["allowPrivilegeEscalation"]
    )


def test_probes_use_pg_isready_for_the_configured_database():
    container = database.postgres_container(settings(database_name="orders", username="orders_app"))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        command = container[probe]["exec"]["command"]
        assert command[0] == "pg_isready" and "orders" in command and "orders_app" in command


def test_services_give_a_stable_name_and_a_headless_one():
    s = settings()
    assert database.service(s)["metadata"]["name"] == "shop-postgres"
    assert database.headless_service(s)["spec"]["clusterIP"] == "None"
    assert s.database_host == "shop-postgres.shop.svc.cluster.local"


def test_database_url_points_at_the_service():
    url = database.database_url(settings(), "pw")
    assert url == "postgres://shop:pw@shop-postgres.shop.svc.cluster.local:5432/shop"


def data_objects(**database):
    run = run_program(
        lambda: (
            DjangoApp("shop", {**MINIMAL, "namespace": "shop-prod", "database": database}).namespace
        )
    )
    return run, run.one("StatefulSet"), run.one("PersistentVolumeClaimPatch")


def test_a_larger_volume_is_applied_to_the_live_claim_instead_of_replacing_the_statefulset():
    _, statefulset, claim = data_objects(storage_size="200Gi", storage_class="shop-gp3")
    # The immutable template is never diffed, so a new size cannot replace the StatefulSet.
    assert "spec.volumeClaimTemplates" in statefulset.ignore_changes
    assert claim.inputs["metadata"]["name"] == "data-shop-postgres-0"  # <template>-<set>-<ordinal>
    assert claim.inputs["metadata"]["namespace"] == "shop-prod"
    assert claim.inputs["spec"]["resources"]["requests"]["storage"] == "200Gi"
    # #29: never the class: the class of a bound claim cannot change (the API server refuses
    # it), and an upgrade that names a class must not send it to a live claim.
    assert "storageClassName" not in claim.inputs["spec"]
    template = statefulset.inputs["spec"]["volumeClaimTemplates"][0]["spec"]
    assert template["storageClassName"] == "shop-gp3"


def test_the_claim_patch_takes_over_the_size_field_from_the_controller_after_the_statefulset():
    _, statefulset, claim = data_objects()
    assert claim.inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    # A bound claim of a WaitForFirstConsumer class is never "ready" to pulumi-kubernetes' claim
    # awaiter (it waits for Pending): found by the real engine in e2e/lifecycle.py.
    assert claim.inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    assert statefulset.urn in claim.dependencies
    assert "storageClassName" not in claim.inputs["spec"]  # the cluster default stays unnamed


def test_the_claim_name_matches_the_statefulsets_template_and_name():
    _, statefulset, claim = data_objects()
    template = statefulset.inputs["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
    assert (
        claim.inputs["metadata"]["name"] == f"{template}-{statefulset.inputs['metadata']['name']}-0"
    )
    assert statefulset.inputs["spec"]["replicas"] == 1  # one claim: ordinal 0


class LiveClaimMocks(RecordingMocks):
    """The live claim as the API server returns it after the patch: its own class."""

    def __init__(self, live_class):
        super().__init__()
        self.live_class = live_class

    def new_resource(self, args):
        name, state = super().new_resource(args)
        if args.typ == "kubernetes:core/v1:PersistentVolumeClaimPatch":
            state = {**state, "spec": {**state["spec"], "storageClassName": self.live_class}}
        return name, state


def _warnings_for(monkeypatch, live_class, wanted="shop-gp3"):
    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, resource=None, **_: warnings.append(msg))
    run_program(
        lambda: DjangoApp("shop", {**MINIMAL, "database": {"storage_class": wanted}}).namespace,
        mocks=LiveClaimMocks(live_class),
    )
    return [w for w in warnings if "StorageClass" in w]


def test_a_live_claim_of_another_class_is_warned_about_and_left_alone(monkeypatch):
    (warning,) = _warnings_for(monkeypatch, "gp2")
    assert "data-shop-postgres-0" in warning and "'gp2'" in warning and "'shop-gp3'" in warning
    assert "docs/runbooks/volume-growth.md" in warning


def test_a_live_claim_of_the_named_class_cannot_warn(monkeypatch):
    assert _warnings_for(monkeypatch, "shop-gp3") == []
