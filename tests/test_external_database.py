import pytest
from conftest import KUBERNETES_ONLY, MINIMAL, REFS
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import app as app_pod
from pulumi_djangoapp.builders import network_policies
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

EXTERNAL = {
    "host": "shop.cluster-abc.eu-west-3.rds.amazonaws.com",
    "port": 6432,
    "database_name": "shop",
    "username": "shop_app",
}


def test_existing_server_replaces_the_statefulset_and_its_services():
    run = run_program(
        lambda: DjangoApp("shop", {**MINIMAL, "database": EXTERNAL}).database_service_name
    )
    assert run.of_type("StatefulSet") == []
    assert [r.name for r in run.of_type("core/v1:Service")] == ["shop-service"]
    assert run.result == EXTERNAL["host"]
    # With Secrets Manager nothing in the cluster needs the password.
    assert run.of_type("core/v1:Secret") == []


def test_wait_and_migrate_target_the_existing_server():
    s = normalise("shop", {**MINIMAL, "database": EXTERNAL})
    wait = next(
        c for c in app_pod.pod_spec(s, REFS)["initContainers"] if c["name"] == "wait-for-db"
    )
    env = {e["name"]: e.get("value") for e in wait["env"]}
    assert (env["DB_HOST"], env["DB_PORT"], env["DB_USER"], env["DB_NAME"]) == (
        EXTERNAL["host"],
        "6432",
        "shop_app",
        "shop",
    )


def test_database_url_of_the_kubernetes_backend_points_at_the_existing_server():
    run = run_program(
        lambda: DjangoApp("shop", {**KUBERNETES_ONLY, "database": EXTERNAL}).namespace
    )
    url = run.one("core/v1:Secret").inputs["stringData"]["database-url"]
    assert url.endswith(f"@{EXTERNAL['host']}:6432/shop") and url.startswith("postgres://shop_app:")


def test_app_may_reach_the_existing_server_port_and_no_postgres_policy_is_made():
    s = normalise("shop", {**MINIMAL, "database": EXTERNAL})
    names = [p["metadata"]["name"] for p in network_policies.network_policies(s)]
    assert "shop-postgres" not in names
    egress = network_policies.web_policy(s)["spec"]["egress"]
    assert {"ports": [{"port": 6432, "protocol": "TCP"}]} in egress


@pytest.mark.parametrize(
    "key, value", [("storage_size", "5Gi"), ("storage_class", "gp3"), ("resources", {})]
)
def test_in_cluster_only_settings_are_refused_with_an_existing_server(key, value):
    with pytest.raises(ValidationError) as caught:
        normalise("shop", {**MINIMAL, "database": {**EXTERNAL, key: value}})
    assert f"database.{key}" in {p.field for p in caught.value.problems}


@pytest.mark.parametrize("host", ["", "bad host", "-x.example.com"])
def test_malformed_host_is_refused(host):
    with pytest.raises(ValidationError) as caught:
        normalise("shop", {**MINIMAL, "database": {"host": host}})
    assert "database.host" in {p.field for p in caught.value.problems}
