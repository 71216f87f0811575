"""A way in from outside the cluster: an ALB Ingress or a Gateway API HTTPRoute, and what Django
and the NetworkPolicy must know about it.

Facts this relies on (AWS Load Balancer Controller docs, Gateway API v1): annotation values are
strings; ``target-type: ip`` sends traffic straight to pod IPs from the ALB's addresses in the
VPC, which a NetworkPolicy can only admit by ``ipBlock``; ALB health checks send the target IP as
``Host`` (the app answers its health path without host validation); a pod leaves the target
group only after the deregistration delay, so ``preStop`` must outlast it; HTTPRoute is
``gateway.networking.k8s.io/v1`` with ``parentRefs``, ``hostnames``, ``rules``.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Optional

from ..settings.app import Settings
from ..settings.way_in import ALB_ANNOTATION_PREFIX, IP_ADDRESS_TYPE, Hsts, WayIn
from .labels import WEB, labels

READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"

EXTERNAL_DNS_ANNOTATION = "external-dns.alpha.kubernetes.io/hostname"

# Narrower than this is a subnet; as wide as this is a VPC (IPv4 VPCs are /16 to /28, IPv6 VPCs
# /56 with /64 subnets).
SUBNET_PREFIX = {4: 20, 6: 64}


def broad_cidr_warning(w: Optional["WayIn"]) -> Optional[str]:
    """A warning when an ingress CIDR looks like a whole VPC rather than the ALB's subnets."""
    if w is None:
        return None
    broad = [
        c
        for c in w.ingress_cidrs
        if ipaddress.ip_network(c, strict=False).prefixlen
        < SUBNET_PREFIX[ipaddress.ip_network(c, strict=False).version]
    ]
    if not broad:
        return None
    return (
        f"ingress.ingress_cidrs {broad} look like a VPC, not the load balancer's subnets: with the VPC CNI "
        "every pod and node of the VPC can then reach the app's port and fake X-Forwarded-Proto; give the "
        "ALB's subnet CIDRs"
    )


def ingress_object(s: Settings) -> dict:
    """The Ingress as applied: one rule per host, every path to the app's Service."""
    assert s.way_in is not None
    w, name, namespace, service, port = s.way_in, s.name, s.namespace, s.name, s.port
    health_path, ip_family = s.health_path, s.ip_family
    annotations: dict[str, str] = {}
    if w.alb:
        annotations = {
            ALB_ANNOTATION_PREFIX + "scheme": w.scheme,
            # Pod IPs as targets: traffic skips kube-proxy and readiness gates apply.
            ALB_ANNOTATION_PREFIX + "target-type": "ip",
            ALB_ANNOTATION_PREFIX + "listen-ports": json.dumps(
                [{"HTTP": 80}, {"HTTPS": 443}], separators=(",", ":")
            ),
            ALB_ANNOTATION_PREFIX + "ssl-redirect": "443",
            ALB_ANNOTATION_PREFIX + "ssl-policy": w.ssl_policy,
            ALB_ANNOTATION_PREFIX + "healthcheck-path": health_path,
            ALB_ANNOTATION_PREFIX + "success-codes": "200",
            ALB_ANNOTATION_PREFIX
            + "target-group-attributes": f"deregistration_delay.timeout_seconds={w.deregistration_seconds}",
        }
        if w.certificate_arns:
            annotations[ALB_ANNOTATION_PREFIX + "certificate-arn"] = ",".join(w.certificate_arns)
        if w.group_name:
            annotations[ALB_ANNOTATION_PREFIX + "group.name"] = w.group_name
        if ip_family == "ipv6":
            annotations[IP_ADDRESS_TYPE] = "dualstack"
    if w.external_dns:
        annotations[EXTERNAL_DNS_ANNOTATION] = ",".join(w.hosts)
    annotations.update(dict(w.annotations))
    metadata: dict = {"name": name, "namespace": namespace, "labels": labels(name, WEB)}
    if annotations:
        metadata["annotations"] = annotations
    backend = {"service": {"name": service, "port": {"number": port}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": {
            "ingressClassName": w.class_name,
            "rules": [
                {
                    "host": host,
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
                for host in w.hosts
            ],
        },
    }


def http_route_object(s: Settings) -> dict:
    assert s.way_in is not None
    w, name, namespace, service, port = s.way_in, s.name, s.namespace, s.name, s.port
    refs = []
    for ref in w.parent_refs:
        fields = dict(ref)
        entry = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": fields["name"]}
        if "namespace" in fields:
            entry["namespace"] = fields["namespace"]
        if "section_name" in fields:
            entry["sectionName"] = fields["section_name"]
        refs.append(entry)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name, WEB)},
        "spec": {
            "parentRefs": refs,
            "hostnames": list(w.hosts),
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [{"name": service, "port": port}],
                }
            ],
        },
    }


def ingress_peers(w: WayIn) -> list[dict]:
    """Who may open connections to the app's port: the ALB's addresses, or the Gateway's pods
    (or, for a data plane outside the cluster, its addresses)."""
    if w.kind == "ingress":
        return [{"ipBlock": {"cidr": cidr}} for cidr in w.ingress_cidrs]
    if w.source_cidrs:
        return [{"ipBlock": {"cidr": cidr}} for cidr in w.source_cidrs]
    return [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": w.gateway_namespace}}}
    ]


def django_env(
    w: Optional[WayIn], probe_host: str, network_policies: bool, hsts: Hsts
) -> list[tuple[str, str]]:
    """Component-managed Django settings: the hosts it answers, the origins CSRF trusts (with
    scheme, Django >= 4), and whether X-Forwarded-Proto is trusted: only when the NetworkPolicy
    makes the load balancer the only way in (otherwise any pod could claim HTTPS).

    With a way in (always TLS: the ALB listens on 443 only and redirects, a Gateway route gets
    ``https://`` origins) the HTTPS settings of Django's deploy checks too: HSTS, secure session
    and CSRF cookies, and the redirect to HTTPS only where Django can tell HTTPS apart (with the
    proxy header; otherwise it would redirect every request, forever)."""
    hosts = [*(w.hosts if w else ()), probe_host]
    env = [("DJANGO_ALLOWED_HOSTS", ",".join(dict.fromkeys(hosts)))]
    if w:
        env.append(("DJANGO_CSRF_TRUSTED_ORIGINS", ",".join(f"https://{h}" for h in w.hosts)))
        if network_policies:
            env.append(("DJANGO_SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO,https"))
        env += [
            ("DJANGO_SECURE_HSTS_SECONDS", str(hsts.seconds)),
            ("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", _flag(hsts.include_subdomains)),
            ("DJANGO_SECURE_HSTS_PRELOAD", _flag(hsts.preload)),
            ("DJANGO_SESSION_COOKIE_SECURE", "true"),
            ("DJANGO_CSRF_COOKIE_SECURE", "true"),
            ("DJANGO_SECURE_SSL_REDIRECT", _flag(network_policies)),
        ]
    return env


def _flag(value: bool) -> str:
    return "true" if value else "false"
