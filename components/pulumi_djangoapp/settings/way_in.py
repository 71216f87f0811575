"""The arguments of the way in (``IngressArgs``, ``HttpRouteArgs``): hosts, where the traffic
comes from, the ALB's annotations and certificates, the Gateway's parent refs; what an IP family
requires of the load balancer. The Ingress, the HTTPRoute and the env Django reads are built in
``builders/way_in.py``."""

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, NotRequired, Optional, TypedDict

from .checks import Problems, checked_bool, given_args, is_int, unknown_keys

ALB_CLASS = "alb"

SCHEMES = ("internet-facing", "internal")

DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"

DEFAULT_DEREGISTRATION_SECONDS = 30

ALB_ANNOTATION_PREFIX = "alb.ingress.kubernetes.io/"

_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
)

_ACM_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:acm:(?P<region>[a-z0-9-]+):[0-9]{12}:certificate/[0-9a-f-]{36}$"
)

_ANNOTATION_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)

_GROUP = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class IngressArgs(TypedDict):
    """An Ingress, by default for the AWS Load Balancer Controller (an ALB)."""

    hosts: List[str]
    """DNS names the app answers on (``shop.example.com``). Required."""
    ingress_cidrs: NotRequired[List[str]]
    """Where the load balancer's traffic comes from: the CIDRs of the ALB's own subnets. ALB
    traffic is not pod traffic, so only an ``ipBlock`` admits it; the VPC CIDR would admit every
    pod and node too (the VPC CNI gives them VPC addresses), which could then fake
    ``X-Forwarded-Proto``. Required while ``network_policies`` is on."""
    scheme: NotRequired[str]
    """``internet-facing`` or ``internal``. Default: ``internet-facing``."""
    certificate_arns: NotRequired[List[str]]
    """ACM certificates in the app's region. Default: none (the controller discovers them from
    ``hosts``)."""
    ssl_policy: NotRequired[str]
    """The listener's TLS policy. Default: ``ELBSecurityPolicy-TLS13-1-2-2021-06``."""
    group_name: NotRequired[str]
    """Share one ALB with other Ingresses of this group. Every namespace in a group can change
    the shared ALB. Default: none (an ALB of its own)."""
    deregistration_delay_seconds: NotRequired[int]
    """How long the ALB drains a leaving pod; the pod's preStop waits longer. Default: ``30``."""
    external_dns: NotRequired[bool]
    """Add the ExternalDNS hostname annotation so ``hosts`` resolve. Default: ``False``."""
    annotations: NotRequired[Dict[str, str]]
    """Extra annotations (may not replace the ones the component sets). Default: none."""
    class_name: NotRequired[str]
    """IngressClass of another controller: then no ALB annotation is set. Default: ``alb``."""


class HttpRouteArgs(TypedDict):
    """A Gateway API HTTPRoute to a Gateway the platform team owns (never created here)."""

    hosts: List[str]
    """DNS names of the route. Required."""
    parent_refs: List[Dict[str, str]]
    """Gateways to attach to: ``{"name": ..., "namespace": ..., "section_name": ...}``
    (namespace and section name optional). Required."""
    gateway_namespace: NotRequired[str]
    """Namespace of the Gateway's pods, admitted by the NetworkPolicy. Default: the first parent's
    namespace, else the app's."""
    source_cidrs: NotRequired[List[str]]
    """Where the Gateway's traffic comes from when its data plane is not pods: admitted by
    ``ipBlock`` instead of ``gateway_namespace``. cloud-provider-kind runs each Gateway as an Envoy
    container outside the cluster that sends to the Service's ClusterIP (its
    ``pkg/gateway/controller.go``): give the kind Docker network's subnet. Default: none (the
    Gateway's pods)."""


@dataclass(frozen=True)
class WayIn:
    kind: str  # ingress | http_route
    hosts: tuple[str, ...]
    ingress_cidrs: tuple[str, ...] = ()
    scheme: str = "internet-facing"
    certificate_arns: tuple[str, ...] = ()
    ssl_policy: str = DEFAULT_SSL_POLICY
    group_name: Optional[str] = None
    deregistration_seconds: int = DEFAULT_DEREGISTRATION_SECONDS
    external_dns: bool = False
    annotations: tuple[tuple[str, str], ...] = ()
    class_name: str = ALB_CLASS
    parent_refs: tuple[tuple[tuple[str, str], ...], ...] = ()
    gateway_namespace: Optional[str] = None
    source_cidrs: tuple[str, ...] = ()

    @property
    def alb(self) -> bool:
        return self.kind == "ingress" and self.class_name == ALB_CLASS


def _hosts(problems: Problems, field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        problems.add(f"{field}.hosts", value, "is required: a non-empty list of DNS names")
        return ()
    for i, host in enumerate(value):
        if not isinstance(host, str) or not _DNS_NAME.match(host):
            problems.add(
                f"{field}.hosts[{i}]",
                host,
                "must be a lower-case DNS name such as 'shop.example.com'",
            )
        elif host in value[:i]:
            problems.add(f"{field}.hosts[{i}]", host, "is listed twice")
    return tuple(h for h in value if isinstance(h, str))


def _strings(problems: Problems, field: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        problems.add(field, value, "must be a list of strings")
        return ()
    return tuple(value)


def normalise(
    problems: Problems, args: Mapping[str, Any], region: Any, network_policies: bool, namespace: str
) -> Optional[WayIn]:
    ingress, route = args.get("ingress"), args.get("http_route")
    if ingress is not None and route is not None:
        problems.add("http_route", "(given)", "cannot be combined with ingress: one way in")
        return None
    if ingress is not None:
        return _ingress(problems, ingress, region, network_policies)
    if route is not None:
        return _route(problems, route, namespace)
    return None


def given_mapping(problems: Problems, raw: Any, known: type, field: str) -> Optional[dict]:
    """The mapping with unset (None) fields dropped and unknown keys reported; None if not one."""
    if not isinstance(raw, Mapping):
        problems.add(field, raw, f"must be an {known.__name__} mapping")
        return None
    given = {k: v for k, v in raw.items() if v is not None}
    unknown_keys(problems, given, known, f"{field}.")
    return given


def _cidrs(problems: Problems, field: str, raw: Any, example: str) -> tuple[str, ...]:
    """A list of CIDR blocks, each named by its index when it is not one."""
    cidrs = _strings(problems, field, raw)
    for i, cidr in enumerate(cidrs):
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            problems.add(f"{field}[{i}]", cidr, f"must be a CIDR block such as {example!r}")
    return tuple(cidrs)


def _ingress(problems: Problems, raw: Any, region: Any, network_policies: bool) -> Optional[WayIn]:
    raw = given_mapping(problems, raw, IngressArgs, "ingress")
    if raw is None:
        return None
    hosts = _hosts(problems, "ingress", raw.get("hosts"))
    cidrs = _cidrs(problems, "ingress.ingress_cidrs", raw.get("ingress_cidrs"), "10.0.0.0/16")
    if network_policies and not cidrs:
        problems.add(
            "ingress.ingress_cidrs",
            None,
            "is required while network_policies is on: the load balancer's traffic comes from the VPC, not from pods (for example the VPC CIDR)",
        )
    scheme = raw.get("scheme", "internet-facing")
    if scheme not in SCHEMES:
        problems.add("ingress.scheme", scheme, f"must be one of {', '.join(SCHEMES)}")
    arns = _strings(problems, "ingress.certificate_arns", raw.get("certificate_arns"))
    for i, arn in enumerate(arns):
        match = _ACM_ARN.match(arn)
        if not match:
            problems.add(
                f"ingress.certificate_arns[{i}]",
                arn,
                "must be an ACM certificate ARN: arn:aws:acm:<region>:<account>:certificate/<id>",
            )
        elif isinstance(region, str) and match.group("region") != region:
            problems.add(
                f"ingress.certificate_arns[{i}]",
                arn,
                f"must be in the app's region {region} (an ALB uses certificates of its own region)",
            )
    group = raw.get("group_name")
    if group is not None and (not isinstance(group, str) or not _GROUP.match(group)):
        problems.add(
            "ingress.group_name", group, "must be up to 63 lower-case letters, digits, '-' and '.'"
        )
    delay = raw.get("deregistration_delay_seconds", DEFAULT_DEREGISTRATION_SECONDS)
    if not is_int(delay) or not 0 <= delay <= 3600:
        problems.add(
            "ingress.deregistration_delay_seconds",
            delay,
            "must be an integer from 0 to 3600 (the ALB's range)",
        )
        delay = DEFAULT_DEREGISTRATION_SECONDS
    external_dns = checked_bool(
        problems, "ingress.external_dns", raw.get("external_dns", False), False
    )
    class_name = raw.get("class_name", ALB_CLASS)
    if not isinstance(class_name, str) or not _DNS1123.match(class_name):
        problems.add("ingress.class_name", class_name, "must be an IngressClass name")
    annotations = raw.get("annotations") or {}
    if not isinstance(annotations, Mapping):
        problems.add("ingress.annotations", annotations, "must map annotation keys to strings")
        annotations = {}
    for key, value in annotations.items():
        if not isinstance(key, str) or not _ANNOTATION_KEY.match(key):
            problems.add(f"ingress.annotations.{key}", value, "is not a valid annotation key")
        elif not isinstance(value, str):
            problems.add(f"ingress.annotations.{key}", value, "annotation values must be strings")
        elif (
            key.startswith(ALB_ANNOTATION_PREFIX)
            and key[len(ALB_ANNOTATION_PREFIX) :] in _MANAGED_ALB_KEYS
        ):
            problems.add(
                f"ingress.annotations.{key}",
                value,
                "is set by the component from IngressArgs; use the matching argument",
            )
    return WayIn(
        kind="ingress",
        hosts=hosts,
        ingress_cidrs=cidrs,
        scheme=scheme if scheme in SCHEMES else SCHEMES[0],
        certificate_arns=arns,
        ssl_policy=raw.get("ssl_policy", DEFAULT_SSL_POLICY),
        group_name=group,
        deregistration_seconds=delay,
        external_dns=external_dns is True,
        annotations=tuple(sorted((k, v) for k, v in annotations.items() if isinstance(k, str))),
        class_name=class_name if isinstance(class_name, str) else ALB_CLASS,
    )


def _route(problems: Problems, raw: Any, namespace: str) -> Optional[WayIn]:
    raw = given_mapping(problems, raw, HttpRouteArgs, "http_route")
    if raw is None:
        return None
    hosts = _hosts(problems, "http_route", raw.get("hosts"))
    refs_raw = raw.get("parent_refs")
    refs = []
    if not isinstance(refs_raw, (list, tuple)) or not refs_raw:
        problems.add(
            "http_route.parent_refs",
            refs_raw,
            "is required: the Gateways to attach to, [{'name': ..., 'namespace': ...}]",
        )
        refs_raw = []
    for i, ref in enumerate(refs_raw):
        where = f"http_route.parent_refs[{i}]"
        if not isinstance(ref, Mapping) or "name" not in ref:
            problems.add(where, ref, "must be a mapping with at least 'name'")
            continue
        for key, value in ref.items():
            if key not in ("name", "namespace", "section_name"):
                problems.add(
                    f"{where}.{key}",
                    value,
                    "is not a parent reference field (name, namespace, section_name)",
                )
            elif not isinstance(value, str) or not _DNS1123.match(value):
                problems.add(f"{where}.{key}", value, "must be a DNS-1123 label")
        refs.append(tuple(sorted((k, v) for k, v in ref.items() if isinstance(v, str))))
    first_namespace = next(
        (dict(r).get("namespace") for r in refs if dict(r).get("namespace")), None
    )
    gateway_namespace = raw.get("gateway_namespace", first_namespace or namespace)
    if not isinstance(gateway_namespace, str) or not _DNS1123.match(gateway_namespace):
        problems.add("http_route.gateway_namespace", gateway_namespace, "must be a namespace name")
    sources = _cidrs(problems, "http_route.source_cidrs", raw.get("source_cidrs"), "172.18.0.0/16")
    return WayIn(
        kind="http_route",
        hosts=hosts,
        parent_refs=tuple(refs),
        gateway_namespace=gateway_namespace,
        source_cidrs=sources,
    )


# Annotations the component owns (suffixes of alb.ingress.kubernetes.io/).
_MANAGED_ALB_KEYS = (
    "scheme", "target-type", "listen-ports", "ssl-redirect", "ssl-policy", "certificate-arn",
    "healthcheck-path", "success-codes", "target-group-attributes", "group.name",
)  # fmt: skip

# aws-load-balancer-controller (pkg/ingress/model_build_target_group.go) refuses IPv6 pod targets
# behind an IPv4-only load balancer: an IPv6 Service needs a dual-stack ALB.
IP_ADDRESS_TYPE = ALB_ANNOTATION_PREFIX + "ip-address-type"

DUAL_STACK_TYPES = ("dualstack", "dualstack-without-public-ipv4")


def ipv6_problem(w: Optional["WayIn"], ip_family: str) -> Optional[str]:
    """Why an ALB given explicitly as ``ip-address-type`` cannot reach IPv6 pods, or None."""
    if w is None or not w.alb or ip_family != "ipv6":
        return None
    chosen = dict(w.annotations).get(IP_ADDRESS_TYPE)
    if chosen is not None and chosen not in DUAL_STACK_TYPES:
        return f"must be one of {', '.join(DUAL_STACK_TYPES)} with ip_family 'ipv6': the controller cannot register IPv6 pods behind an IPv4 load balancer"
    return None


# What Django reads once requests arrive over HTTPS through the way in (README "HTTPS settings").
HTTPS_ENV = (
    "DJANGO_SECURE_HSTS_SECONDS", "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "DJANGO_SECURE_HSTS_PRELOAD", "DJANGO_SESSION_COOKIE_SECURE", "DJANGO_CSRF_COOKIE_SECURE",
    "DJANGO_SECURE_SSL_REDIRECT",
)  # fmt: skip

MANAGED_ENV = (
    "DJANGO_ALLOWED_HOSTS", "DJANGO_CSRF_TRUSTED_ORIGINS", "DJANGO_SECURE_PROXY_SSL_HEADER",
    "DJANGO_HEALTH_PATH", "POD_IP", *HTTPS_ENV,
)  # fmt: skip

# A year: what browsers' preload lists ask for and the usual production value.
DEFAULT_HSTS_SECONDS = 31536000


class HstsArgs(TypedDict):
    """``Strict-Transport-Security``, sent by Django over the TLS way in (``ingress`` or
    ``http_route``); without a way in the app is not served over HTTPS and it is refused."""

    seconds: NotRequired[int]
    """``max-age``: how long browsers use HTTPS only; 0 sends no header. Start lower (3600) on a
    domain that may still serve plain HTTP somewhere. Default: ``31536000`` (a year)."""
    include_subdomains: NotRequired[bool]
    """Also every subdomain of the app's hosts (``includeSubDomains``). Default: ``True``."""
    preload: NotRequired[bool]
    """Ask browsers' preload lists to include the hosts (``preload``): a commitment that is
    slow to undo, for the domain's owner to make. Default: ``False``."""


@dataclass(frozen=True)
class Hsts:
    seconds: int = DEFAULT_HSTS_SECONDS
    include_subdomains: bool = True
    preload: bool = False


def normalise_hsts(problems: Problems, raw: Any, has_way_in: bool) -> Hsts:
    given = given_args(problems, raw, HstsArgs, "hsts")
    if given is None:
        return Hsts()
    if not has_way_in:
        problems.add(
            "hsts",
            dict(given),
            "only applies with a TLS way in (ingress or http_route): without one the app is not "
            "served over HTTPS",
        )
    seconds = given.get("seconds", DEFAULT_HSTS_SECONDS)
    if not is_int(seconds) or seconds < 0 or seconds > 2**31 - 1:
        problems.add("hsts.seconds", seconds, "must be a whole number of seconds, 0 or more")
        seconds = DEFAULT_HSTS_SECONDS
    return Hsts(
        seconds=seconds,
        include_subdomains=checked_bool(
            problems, "hsts.include_subdomains", given.get("include_subdomains", True), True
        ),
        preload=checked_bool(problems, "hsts.preload", given.get("preload", False), False),
    )
