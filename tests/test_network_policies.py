from pulumi_djangoapp import network_policies
from pulumi_djangoapp.labels import selector_labels
from pulumi_djangoapp.settings import normalise
from conftest import MINIMAL, REFS


def policies(**args):
    return {p["metadata"]["name"]: p["spec"] for p in network_policies.network_policies(normalise("shop", {**MINIMAL, **args}))}


def test_owned_namespace_gets_a_default_deny_for_both_directions():
    deny = policies()["shop-default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_shared_namespace_gets_no_default_deny():
    assert "shop-default-deny" not in policies(create_namespace=False, namespace="shared")


def test_postgres_is_reachable_only_from_the_app_pods():
    db = policies()["shop-postgres"]
    assert db["podSelector"]["matchLabels"] == selector_labels("shop", "database")
    (rule,) = db["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": selector_labels("shop", "web")}}]
    assert rule["ports"] == [{"port": 5432, "protocol": "TCP"}]
    assert "Egress" in db["policyTypes"] and "egress" not in db


def test_app_is_reachable_on_its_port_and_sidecar_ports_only():
    web = policies(port=9000, sidecars=[{"name": "m", "image": "a:1", "ports": [9100]}])["shop-web"]
    (rule,) = web["ingress"]
    assert [p["port"] for p in rule["ports"]] == [9000, 9100]


def test_app_may_reach_its_database_and_dns():
    egress = policies()["shop-web"]["egress"]
    assert any(r.get("to") == [{"podSelector": {"matchLabels": selector_labels("shop", "database")}}] for r in egress)
    assert any({"port": 53, "protocol": "UDP"} in r["ports"] for r in egress)


def test_policies_can_be_turned_off():
    assert policies(network_policies=False) == {}


def egress_ports(spec):
    return {(p["port"], p.get("protocol")) for rule in spec["egress"] for p in rule.get("ports", [])}


def test_pod_identity_pods_can_reach_the_node_agent_on_both_address_families():
    from conftest import POD_IDENTITY

    spec = {p["metadata"]["name"]: p["spec"] for p in network_policies.network_policies(normalise("shop", POD_IDENTITY))}["shop-web"]
    (agent,) = [r for r in spec["egress"] if r.get("ports") == [{"port": 80, "protocol": "TCP"}]]
    assert agent["to"] == [{"ipBlock": {"cidr": "169.254.170.23/32"}}, {"ipBlock": {"cidr": "fd00:ec2::23/128"}}]


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
        dns = [r for r in policies[name]["egress"] if "to" not in r and any(p["port"] == 53 for p in r["ports"])]
        assert dns == [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}], name


def test_the_migrate_policy_selects_the_jobs_pods_and_restricts_both_directions():
    from pulumi_djangoapp import app_pod

    s = normalise("shop", {**MINIMAL, "migrations": "job"})
    (policy,) = [p["spec"] for p in network_policies.network_policies(s) if p["metadata"]["name"] == "shop-migrate"]
    job_labels = app_pod.migration_job(s, REFS)["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= job_labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in policy
