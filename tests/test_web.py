from conftest import MINIMAL

from pulumi_djangoapp.builders import web
from pulumi_djangoapp.settings import normalise


def s(**args):
    return normalise("shop", {**MINIMAL, **args})


def test_pdb_exists_with_two_replicas_and_allows_one_disruption():
    pdb = web.pod_disruption_budget(s(replicas=2))
    assert pdb["spec"]["maxUnavailable"] == 1


def test_single_replica_gets_no_pdb_that_would_block_drains():
    assert web.pod_disruption_budget(s(replicas=1)) is None


def test_owned_namespace_enforces_the_restricted_pod_security_standard():
    labels = web.namespace(s())["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_service_targets_the_named_http_port():
    svc = web.service(s(port=9000))
    assert svc["spec"]["ports"] == [
        {"name": "http", "port": 9000, "targetPort": "http", "protocol": "TCP"}
    ]


def test_service_account_does_not_automount_a_token():
    assert web.service_account(s())["automountServiceAccountToken"] is False
