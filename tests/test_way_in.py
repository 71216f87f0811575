"""The way in: ALB Ingress or HTTPRoute, Django's host wiring, and the NetworkPolicy that makes
the load balancer the only way to the app."""

import json
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
from conftest import MINIMAL, REFS
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import manifests, network_policies
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import validate_render

CERT = "arn:aws:acm:eu-west-3:123456789012:certificate/5a1e0c2b-3d4f-4a6b-8c9d-0e1f2a3b4c5d"
ALB = {
    "hosts": ["shop.example.com", "www.shop.example.com"],
    "ingress_cidrs": ["10.0.0.0/16"],
    "certificate_arns": [CERT],
}
ROUTE = {"hosts": ["shop.localtest.me"], "parent_refs": [{"name": "shop", "namespace": "gateway"}]}
PLACEHOLDERS = {"password": "p", "database_url": "u", "database_json": "j", "secret_key": "k"}


def objects(**args):
    s = normalise("shop", {**MINIMAL, "aws_region": "eu-west-3", **args})
    return {role: obj for role, obj in manifests.kubernetes_objects(s, PLACEHOLDERS, REFS)}


def env_of(objs):
    return {
        e["name"]: e.get("value")
        for e in objs["deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }


def test_an_alb_ingress_serves_every_host_over_https_to_pod_ips():
    ingress = objects(ingress=ALB)["ingress"]
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert [r["host"] for r in ingress["spec"]["rules"]] == ALB["hosts"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "shop", "port": {"number": 8000}}
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert json.loads(annotations["alb.ingress.kubernetes.io/listen-ports"]) == [
        {"HTTP": 80},
        {"HTTPS": 443},
    ]
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == CERT
    assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/healthz"
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert all(isinstance(v, str) for v in annotations.values())  # the controller reads strings


def test_an_ingress_can_share_an_alb_and_publish_dns_and_serve_another_class():
    shared = objects(
        ingress={**ALB, "group_name": "shop-public", "external_dns": True, "scheme": "internal"}
    )["ingress"]["metadata"]["annotations"]
    assert shared["alb.ingress.kubernetes.io/group.name"] == "shop-public"
    assert (
        shared["external-dns.alpha.kubernetes.io/hostname"]
        == "shop.example.com,www.shop.example.com"
    )
    assert shared["alb.ingress.kubernetes.io/scheme"] == "internal"
    other = objects(
        ingress={**ALB, "class_name": "traefik", "annotations": {"example.com/x": "1"}}
    )["ingress"]
    assert other["spec"]["ingressClassName"] == "traefik"
    assert other["metadata"]["annotations"] == {"example.com/x": "1"}


def test_pods_leave_the_alb_only_after_its_drain_and_are_gated_on_its_health():
    objs = objects(ingress={**ALB, "deregistration_delay_seconds": 45})
    delay = objs["ingress"]["metadata"]["annotations"][
        "alb.ingress.kubernetes.io/target-group-attributes"
    ]
    assert delay == "deregistration_delay.timeout_seconds=45"
    pod = objs["deployment"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"] > 45
    assert (
        objs["namespace"]["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"]
        == "enabled"
    )


def test_django_answers_exactly_the_hosts_and_trusts_the_proxy_only_behind_the_policy():
    env = env_of(objects(ingress=ALB))
    assert env["DJANGO_ALLOWED_HOSTS"] == "shop.example.com,www.shop.example.com,localhost"
    assert (
        env["DJANGO_CSRF_TRUSTED_ORIGINS"]
        == "https://shop.example.com,https://www.shop.example.com"
    )
    assert env["DJANGO_SECURE_PROXY_SSL_HEADER"] == "HTTP_X_FORWARDED_PROTO,https"
    open_env = env_of(objects(ingress={**ALB, "ingress_cidrs": None}, network_policies=False))
    assert "DJANGO_SECURE_PROXY_SSL_HEADER" not in open_env  # any pod could claim HTTPS
    assert env_of(objects())["DJANGO_ALLOWED_HOSTS"] == "localhost"


def test_the_pod_knows_its_own_ip_from_the_downward_api():
    env = objects()["deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} in env


def test_only_the_load_balancers_addresses_reach_the_app_port():
    policy = objects(ingress=ALB)["netpol-web"]["spec"]
    (rule,) = policy["ingress"]
    assert rule["from"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}]
    assert rule["ports"] == [{"port": 8000, "protocol": "TCP"}]


def test_a_route_admits_the_gateways_namespace_only():
    objs = objects(http_route=ROUTE)
    (rule,) = objs["netpol-web"]["spec"]["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}}}
    ]
    assert "ingress" not in objs


def test_an_http_route_attaches_to_the_platforms_gateway_and_passes_the_route_schema():
    route = objects(
        http_route={
            **ROUTE,
            "parent_refs": [{"name": "shop", "namespace": "gateway", "section_name": "https"}],
        }
    )["http-route"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "shop",
            "namespace": "gateway",
            "sectionName": "https",
        }
    ]
    assert route["spec"]["hostnames"] == ["shop.localtest.me"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "shop", "port": 8000}]
    validate_render.validate(route, [])


def test_the_route_schema_check_can_fail():
    route = objects(http_route=ROUTE)["http-route"]
    route["spec"]["rules"][0]["backendRefs"][0]["prot"] = 80
    with pytest.raises(jsonschema.ValidationError):
        validate_render.validate(route, [])


@pytest.mark.parametrize("version", ["1.32.0", "1.34.0", "1.37.0"])
def test_ingress_and_hpa_pass_the_strict_schemas(version):
    objs = objects(
        ingress={**ALB, "group_name": "g", "external_dns": True},
        autoscaling={"max_replicas": 5, "memory_utilization": 80},
    )
    for role in ("ingress", "hpa", "pdb", "netpol-web", "namespace", "deployment"):
        kubernetes_validate.validate(objs[role], version, strict=True)


@pytest.mark.parametrize(
    "args, field",
    [
        ({"ingress": {**ALB, "hosts": []}}, "ingress.hosts"),
        ({"ingress": {**ALB, "hosts": ["Shop.Example.com"]}}, "ingress.hosts[0]"),
        (
            {"ingress": {**ALB, "hosts": ["shop.example.com", "shop.example.com"]}},
            "ingress.hosts[1]",
        ),
        ({"ingress": {**ALB, "ingress_cidrs": None}}, "ingress.ingress_cidrs"),
        ({"ingress": {**ALB, "ingress_cidrs": ["10.0.0.1/16"]}}, "ingress.ingress_cidrs[0]"),
        (
            {
                "ingress": {
                    **ALB,
                    "certificate_arns": [
                        "arn:aws:acm:us-east-1:123456789012:certificate/5a1e0c2b-3d4f-4a6b-8c9d-0e1f2a3b4c5d"
                    ],
                }
            },
            "ingress.certificate_arns[0]",
        ),
        ({"ingress": {**ALB, "certificate_arns": ["not-an-arn"]}}, "ingress.certificate_arns[0]"),
        ({"ingress": {**ALB, "scheme": "public"}}, "ingress.scheme"),
        (
            {"ingress": {**ALB, "deregistration_delay_seconds": 4000}},
            "ingress.deregistration_delay_seconds",
        ),
        (
            {"ingress": {**ALB, "annotations": {"alb.ingress.kubernetes.io/scheme": "internal"}}},
            "ingress.annotations.alb.ingress.kubernetes.io/scheme",
        ),
        ({"ingress": {**ALB, "host": "x"}}, "ingress.host"),
        ({"ingress": ALB, "http_route": ROUTE}, "http_route"),
        ({"http_route": {**ROUTE, "parent_refs": []}}, "http_route.parent_refs"),
        (
            {"http_route": {**ROUTE, "parent_refs": [{"namespace": "gateway"}]}},
            "http_route.parent_refs[0]",
        ),
        ({"env": {"DJANGO_ALLOWED_HOSTS": "*"}}, "env.DJANGO_ALLOWED_HOSTS"),
        ({"env": {"POD_IP": "1.2.3.4"}}, "env.POD_IP"),
    ],
)
def test_a_way_in_cannot_be_half_given_or_contradictory(args, field):
    with pytest.raises(ValidationError) as caught:
        normalise("shop", {**MINIMAL, "aws_region": "eu-west-3", **args})
    assert field in {p.field for p in caught.value.problems}


def test_the_component_registers_the_ingress_and_reports_its_urls():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "ingress": ALB}).urls)
    assert run.result == ["https://shop.example.com", "https://www.shop.example.com"]
    ingress = run.one("networking.k8s.io/v1:Ingress")
    assert ingress.parent == run.one("DjangoApp").urn
    outputs = run.outputs[run.one("DjangoApp").urn]
    assert outputs.get("ingress_hostname") is None  # known once the controller has made the ALB


def test_a_route_is_registered_as_a_gateway_api_custom_resource():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "http_route": ROUTE}).urls)
    route = run.one("gateway.networking.k8s.io/v1:HTTPRoute")
    assert route.inputs["spec"]["hostnames"] == ["shop.localtest.me"]
    assert run.result == ["https://shop.localtest.me"]


def test_without_a_way_in_there_are_no_urls():
    run = run_program(lambda: DjangoApp("shop", MINIMAL).urls)
    assert run.result == [] and run.of_type("Ingress") == []


def test_an_ipv6_app_behind_an_alb_gets_a_dual_stack_load_balancer():
    # aws-load-balancer-controller pkg/ingress/model_build_target_group.go: IPv6 targets need a
    # dual-stack load balancer.
    annotations = objects(ingress=ALB, ip_family="ipv6")["ingress"]["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/ip-address-type"] == "dualstack"
    assert (
        "alb.ingress.kubernetes.io/ip-address-type"
        not in objects(ingress=ALB)["ingress"]["metadata"]["annotations"]
    )
    chosen = objects(
        ingress={
            **ALB,
            "annotations": {
                "alb.ingress.kubernetes.io/ip-address-type": "dualstack-without-public-ipv4"
            },
        },
        ip_family="ipv6",
    )
    assert (
        chosen["ingress"]["metadata"]["annotations"]["alb.ingress.kubernetes.io/ip-address-type"]
        == "dualstack-without-public-ipv4"
    )


def test_an_ipv6_app_cannot_ask_for_an_ipv4_only_load_balancer():
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, "aws_region": "eu-west-3", "ip_family": "ipv6",
                           "ingress": {**ALB, "annotations": {"alb.ingress.kubernetes.io/ip-address-type": "ipv4"}}})  # fmt: skip
    (problem,) = error.value.problems
    assert (
        problem.field == "ingress.annotations.alb.ingress.kubernetes.io/ip-address-type"
        and problem.value == "ipv4"
    )
    assert "dualstack" in str(problem)


def test_an_ingress_cidr_as_wide_as_a_vpc_is_warned_about_and_subnets_are_not():
    # #27: with the VPC CNI the VPC CIDR admits every pod and node.
    from pulumi_djangoapp.builders import way_in

    vpc = normalise(
        "shop",
        {
            **MINIMAL,
            "aws_region": "eu-west-3",
            "ingress": {**ALB, "ingress_cidrs": ["10.30.0.0/16"]},
        },
    ).way_in
    assert "10.30.0.0/16" in way_in.broad_cidr_warning(
        vpc
    ) and "ALB's subnet CIDRs" in way_in.broad_cidr_warning(vpc)
    subnets = normalise(
        "shop",
        {
            **MINIMAL,
            "aws_region": "eu-west-3",
            "ingress": {**ALB, "ingress_cidrs": ["10.30.0.0/24", "10.30.16.0/20"]},
        },
    ).way_in
    assert way_in.broad_cidr_warning(subnets) is None
    v6 = normalise(
        "shop",
        {
            **MINIMAL,
            "aws_region": "eu-west-3",
            "ip_family": "ipv6",
            "ingress": {**ALB, "ingress_cidrs": ["2001:db8::/56"]},
        },
    ).way_in
    assert way_in.broad_cidr_warning(v6) is not None


def test_the_stacks_admit_their_albs_subnets_not_their_vpc(root):
    import yaml

    for stack in ("staging", "prod"):
        cidrs = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())["config"][
            "djangoapp:ingressCidrs"
        ]
        assert cidrs and all(c.endswith("/24") for c in cidrs), stack


def test_a_gateway_outside_the_cluster_is_admitted_by_its_addresses_not_by_a_namespace():
    # cloud-provider-kind pkg/gateway/controller.go: each Gateway is an Envoy container sending
    # to the Service's ClusterIP (STATIC cluster); no pod of the gateway namespace ever connects.
    spec = network_policies.web_policy(
        normalise("shop", {**MINIMAL, "http_route": {**ROUTE, "source_cidrs": ["172.18.0.0/16"]}})
    )["spec"]
    assert spec["ingress"][0]["from"] == [{"ipBlock": {"cidr": "172.18.0.0/16"}}]
    in_cluster = network_policies.web_policy(normalise("shop", {**MINIMAL, "http_route": ROUTE}))[
        "spec"
    ]
    assert in_cluster["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}}}
    ]


def test_the_local_stack_admits_the_kind_network(root):
    from harness import run_project

    run = run_project(root, "local")
    web = next(
        r for r in run.of_type("NetworkPolicy") if r.inputs["metadata"]["name"].endswith("-web")
    )
    assert web.inputs["spec"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": "172.18.0.0/16"}}]


def test_a_gateway_source_that_is_not_a_cidr_is_refused():
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, "http_route": {**ROUTE, "source_cidrs": ["kind"]}})
    assert [p.field for p in error.value.problems] == ["http_route.source_cidrs[0]"]
