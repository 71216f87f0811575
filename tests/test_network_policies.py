import pytest
from conftest import MINIMAL, REFS

from pulumi_djangoapp.builders import network_policies
from pulumi_djangoapp.builders.labels import selector_labels
from pulumi_djangoapp.settings import normalise


def policies(**args):
    return {
        p["metadata"]["name"]: p["spec"]
        for p in network_policies.network_policies(normalise("shop", {**MINIMAL, **args}))
    }


def test_owned_namespace_gets_a_default_deny_for_both_directions():
    deny = policies()["shop-default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_shared_namespace_gets_no_default_deny():
    assert "shop-default-deny" not in policies(create_namespace=False, namespace="shared")


def test_postgres_is_reachable_only_from_the_app_pods():
    db = policies()["shop-postgres"]
    assert db["podSelector"]["matchLabels"] == selector_labels("shop", "database")
    (rule,) = db["ingress"]
    # The web pods, and one-off commands (python -m pulumi_djangoapp.run).
    assert rule["from"] == [
        {"podSelector": {"matchLabels": selector_labels("shop", c)}} for c in ("web", "run")
    ]
    assert rule["ports"] == [{"port": 5432, "protocol": "TCP"}]
    assert "Egress" in db["policyTypes"] and "egress" not in db


def test_app_is_reachable_on_its_port_and_sidecar_ports_only():
    web = policies(port=9000, sidecars=[{"name": "m", "image": "a:1", "ports": [9100]}])["shop-web"]
    (rule,) = web["ingress"]
    assert [p["port"] for p in rule["ports"]] == [9000, 9100]


def test_app_may_reach_its_database_and_dns():
    egress = policies()["shop-web"]["egress"]
    assert any(
        r.get("to") == [{"podSelector": {"matchLabels": selector_labels("shop", "database")}}]
        for r in egress
    )
    assert any({"port": 53, "protocol": "UDP"} in r["ports"] for r in egress)


def test_policies_can_be_turned_off():
    assert policies(network_policies=False) == {}


def egress_ports(spec):
    return {
        (p["port"], p.get("protocol")) for rule in spec["egress"] for p in rule.get("ports", [])
    }


def test_pod_identity_pods_can_reach_the_node_agent_on_both_address_families():
    from conftest import POD_IDENTITY

    spec = {
        p["metadata"]["name"]: p["spec"]
        for p in network_policies.network_policies(normalise("shop", POD_IDENTITY))
    }["shop-web"]
    (agent,) = [r for r in spec["egress"] if r.get("ports") == [{"port": 80, "protocol": "TCP"}]]
    assert agent["to"] == [
        {"ipBlock": {"cidr": "169.254.170.23/32"}},
        {"ipBlock": {"cidr": "fd00:ec2::23/128"}},
    ]


def test_web_identity_pods_cannot_reach_port_80_anywhere():
    assert (80, "TCP") not in egress_ports(policies()["shop-web"])


def test_every_client_policy_lets_dns_out_over_udp_and_tcp_on_53():
    s = normalise("shop", {
        **MINIMAL, "migrations": "job", "backups": {},
        "schedules": [{"name": "report", "schedule": "@daily", "command": ["python", "manage.py", "report"]}],
        "processes": [{"name": "worker", "command": ["celery", "worker"]}],
    })  # fmt: skip
    policies = {p["metadata"]["name"]: p["spec"] for p in network_policies.network_policies(s)}
    for name in ("shop-web", "shop-migrate", "shop-schedules", "shop-processes", "shop-backup"):
        dns = [
            r
            for r in policies[name]["egress"]
            if "to" not in r and any(p["port"] == 53 for p in r["ports"])
        ]
        assert dns == [
            {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
        ], name


def test_the_migrate_policy_selects_the_jobs_pods_and_restricts_both_directions():
    from pulumi_djangoapp.builders import app as app_pod

    s = normalise("shop", {**MINIMAL, "migrations": "job"})
    (policy,) = [
        p["spec"]
        for p in network_policies.network_policies(s)
        if p["metadata"]["name"] == "shop-migrate"
    ]
    job_labels = app_pod.migration_job(s, REFS)["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= job_labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in policy


# --- Every policy, whole: what each kind of pod may do, written from the design -------------


def _labels(component):
    from pulumi_djangoapp.builders.labels import labels

    return labels("shop", component)


def _select(component):
    return {"matchLabels": selector_labels("shop", component)}


DNS = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
HTTPS = {"ports": [{"port": 443, "protocol": "TCP"}]}
IN_CLUSTER_DB = {
    "ports": [{"port": 5432, "protocol": "TCP"}],
    "to": [{"podSelector": _select("database")}],
}
FULL = {
    **MINIMAL, "migrations": "job", "backups": {}, "broker": {},
    "schedules": [{"name": "report", "schedule": "@daily", "command": ["python", "manage.py", "report"]}],
    "processes": [{"name": "worker", "command": ["celery", "worker"]}],
}  # fmt: skip
BROKER = {"ports": [{"port": 6379, "protocol": "TCP"}], "to": [{"podSelector": _select("broker")}]}


def whole(**args):
    s = normalise("shop", {**MINIMAL, **args})
    return {p["metadata"]["name"]: p for p in network_policies.network_policies(s, REFS)}


def test_every_policy_is_a_named_labelled_networking_v1_object_of_the_apps_namespace():
    found = whole(**{k: v for k, v in FULL.items() if k not in MINIMAL})
    assert sorted(found) == [
        "shop-backup", "shop-broker", "shop-default-deny", "shop-migrate", "shop-postgres",
        "shop-processes", "shop-run", "shop-schedules", "shop-web",
    ]  # fmt: skip
    components = {
        "shop-backup": "backup", "shop-broker": "broker", "shop-default-deny": "web", "shop-migrate": "migrate",
        "shop-postgres": "database", "shop-processes": "process", "shop-run": "run", "shop-schedules": "schedule",
        "shop-web": "web",
    }  # fmt: skip
    for name, policy in found.items():
        assert (policy["apiVersion"], policy["kind"]) == (
            "networking.k8s.io/v1",
            "NetworkPolicy",
        ), name
        assert policy["metadata"] == {
            "name": name,
            "namespace": "shop",
            "labels": _labels(components[name]),
        }, name


def test_the_web_policy_admits_its_port_and_lets_out_dns_its_database_and_https_only():
    assert whole()["shop-web"]["spec"] == {
        "podSelector": _select("web"),
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"ports": [{"port": 8000, "protocol": "TCP"}]}],
        "egress": [DNS, IN_CLUSTER_DB, HTTPS],
    }


def test_with_a_broker_every_app_client_may_reach_it_and_it_admits_only_them():
    found = whole(**{k: v for k, v in FULL.items() if k not in MINIMAL})
    for name, component in (
        ("shop-web", "web"),
        ("shop-migrate", "migrate"),
        ("shop-schedules", "schedule"),
        ("shop-processes", "process"),
        ("shop-run", "run"),
    ):
        spec = found[name]["spec"]
        assert spec["podSelector"] == _select(component), name
        assert spec["policyTypes"] == ["Ingress", "Egress"], name
        assert spec["egress"] == [DNS, IN_CLUSTER_DB, HTTPS, BROKER], name
        assert ("ingress" in spec) is (name == "shop-web"), name
    assert found["shop-broker"]["spec"] == {
        "podSelector": _select("broker"),
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{
            "from": [{"podSelector": _select(c)} for c in ("web", "migrate", "schedule", "process", "run")],
            "ports": [{"port": 6379, "protocol": "TCP"}],
        }],
    }  # fmt: skip
    assert found["shop-postgres"]["spec"]["ingress"] == [{
        "from": [{"podSelector": _select(c)} for c in ("web", "migrate", "schedule", "process", "run", "backup")],
        "ports": [{"port": 5432, "protocol": "TCP"}],
    }]  # fmt: skip
    assert found["shop-backup"]["spec"] == {
        # Backups never queue tasks: no broker (#27).
        "podSelector": _select("backup"), "policyTypes": ["Ingress", "Egress"], "egress": [DNS, IN_CLUSTER_DB, HTTPS],
    }  # fmt: skip


def test_an_external_broker_is_reached_on_its_port_anywhere_and_has_no_policy_of_its_own():
    found = whole(broker={"url": "rediss://queue.example.com:6380/0"})
    assert found["shop-web"]["spec"]["egress"][-1] == {"ports": [{"port": 6380, "protocol": "TCP"}]}
    assert "shop-broker" not in found


def test_an_existing_database_is_reached_on_its_port_anywhere_and_has_no_policy_of_its_own():
    found = whole(database={"host": "db.example.internal", "port": 6432})
    assert found["shop-web"]["spec"]["egress"] == [
        DNS,
        {"ports": [{"port": 6432, "protocol": "TCP"}]},
        HTTPS,
    ]
    assert "shop-postgres" not in found


def test_an_rds_database_is_reached_on_its_subnets_cidrs_and_the_role_job_has_its_own_policy():
    from dataclasses import replace

    s = normalise("shop", {**MINIMAL, "broker": {}, "database": {"provider": "rds", "rds": {
        "subnet_ids": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"], "client_security_group_ids": ["sg-0a1b2c3d"]}}})  # fmt: skip
    refs = replace(REFS, database_cidrs=["10.0.1.0/24", "10.0.2.0/24"])
    found = {p["metadata"]["name"]: p for p in network_policies.network_policies(s, refs)}
    rds = {
        "ports": [{"port": 5432, "protocol": "TCP"}],
        "to": [{"ipBlock": {"cidr": "10.0.1.0/24"}}, {"ipBlock": {"cidr": "10.0.2.0/24"}}],
    }
    assert found["shop-web"]["spec"]["egress"] == [DNS, rds, HTTPS, BROKER]
    assert found["shop-db-admin"]["spec"] == {
        "podSelector": _select("db-admin"), "policyTypes": ["Ingress", "Egress"], "egress": [DNS, rds, HTTPS],
    }  # fmt: skip
    assert found["shop-db-admin"]["metadata"]["labels"] == _labels("db-admin")
    assert "shop-postgres" not in found
    with pytest.raises(ValueError, match="CIDRs"):
        network_policies.network_policies(s, REFS)


def test_a_local_aws_endpoint_port_is_let_out_beside_https():
    egress = whole(aws_endpoint_url="http://localstack.tools.svc:4566")["shop-web"]["spec"][
        "egress"
    ]
    assert egress[2] == {
        "ports": [{"port": 443, "protocol": "TCP"}, {"port": 4566, "protocol": "TCP"}]
    }


def test_behind_an_alb_only_its_addresses_reach_the_app_port_while_sidecar_ports_stay_open():
    spec = whole(
        ingress={"hosts": ["shop.example.com"], "ingress_cidrs": ["10.30.0.0/16"]},
        sidecars=[{"name": "metrics", "image": "a/b:1", "ports": [9100]}],
    )["shop-web"]["spec"]
    assert spec["ingress"] == [
        {
            "from": [{"ipBlock": {"cidr": "10.30.0.0/16"}}],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        },
        {"ports": [{"port": 9100, "protocol": "TCP"}]},
    ]


def test_every_rds_client_policy_reaches_the_subnets_cidrs_even_when_they_are_outputs():
    from dataclasses import replace

    import pulumi
    from harness import run_program

    args = {
        **MINIMAL, "migrations": "job", "processes": [{"name": "worker", "command": ["celery", "worker"]}],
        "schedules": [{"name": "report", "schedule": "@daily", "command": ["python", "manage.py", "report"]}],
        "database": {"provider": "rds", "rds": {"subnet_ids": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"], "client_security_group_ids": ["sg-0a1b2c3d"]}},
    }  # fmt: skip
    s = normalise("shop", args)

    def program():
        refs = replace(REFS, database_cidrs=pulumi.Output.from_input(["10.0.7.0/24"]))
        specs = {
            p["metadata"]["name"]: p["spec"] for p in network_policies.network_policies(s, refs)
        }
        return pulumi.Output.all(*[
            pulumi.Output.from_input(specs[name]["egress"][1]["to"]) for name in ("shop-web", "shop-migrate", "shop-schedules", "shop-processes", "shop-db-admin")
        ])  # fmt: skip

    for peers in run_program(program).result:
        assert peers == [{"ipBlock": {"cidr": "10.0.7.0/24"}}]


def test_an_rds_policy_cannot_be_built_without_the_cidrs():
    s = normalise("shop", {**MINIMAL, "database": {"provider": "rds", "rds": {
        "subnet_ids": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"], "client_security_group_ids": ["sg-0a1b2c3d"]}}})  # fmt: skip
    with pytest.raises(ValueError) as caught:
        network_policies.network_policies(s, REFS)
    assert str(caught.value) == "an RDS database needs its subnets' CIDRs (AwsRefs.database_cidrs)"


def test_an_aws_endpoint_on_443_adds_no_second_port():
    egress = whole(aws_endpoint_url="https://aws.internal.example.com:443")["shop-web"]["spec"][
        "egress"
    ]
    assert egress[2] == {"ports": [{"port": 443, "protocol": "TCP"}]}
