"""NetworkPolicies: the app reachable on its ports, Postgres only from the app's pods.

In a namespace the component owns, everything else is denied. App (and migration Job) pods may
resolve names, reach their database and open HTTPS connections (cloud APIs, log sinks);
Postgres may open nothing.
"""

from __future__ import annotations

from typing import Any, Optional

from ..settings import broker as broker_settings
from ..settings.app import Settings
from . import broker, cache, monitoring, way_in
from .fetch import AwsRefs
from .labels import (
    BACKUP,
    BROKER,
    BROKER_EXPORTER,
    CACHE,
    DATABASE,
    DATABASE_EXPORTER,
    DB_ADMIN,
    FIRST_ADMIN,
    MIGRATE,
    PROCESS,
    RUN,
    SCHEDULE,
    WEB,
    labels,
    selector_labels,
)
from .workload_identity import (
    POD_IDENTITY_AGENT_IPV4,
    POD_IDENTITY_AGENT_IPV6,
    POD_IDENTITY_AGENT_PORT,
)

_DNS_PORTS = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


def _policy(s: Settings, name: str, component: str, spec: dict) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": s.namespace, "labels": labels(s.name, component)},
        "spec": spec,
    }


def default_deny(s: Settings) -> dict:
    return _policy(
        s,
        f"{s.name}-default-deny",
        WEB,
        {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    )


def _database_peers(refs: Optional[AwsRefs]) -> Any:
    """RDS: its subnets' CIDRs, not its address, which moves to the standby on failover."""
    if refs is None or refs.database_cidrs is None:
        raise ValueError("an RDS database needs its subnets' CIDRs (AwsRefs.database_cidrs)")
    cidrs = refs.database_cidrs
    if isinstance(cidrs, (list, tuple)):
        return [{"ipBlock": {"cidr": c}} for c in cidrs]
    return cidrs.apply(lambda values: [{"ipBlock": {"cidr": c}} for c in values])


def _client_egress(
    s: Settings, refs: Optional[AwsRefs] = None, app_services: bool = True
) -> list[dict]:
    """Where the app's processes may connect: DNS, their database, HTTPS (and a local endpoint);
    with ``app_services`` the broker, the cache and the SMTP server too (not the backup pods or
    the RDS role Job)."""
    https = [{"port": 443, "protocol": "TCP"}]
    if s.aws and s.aws.endpoint_port and s.aws.endpoint_port != 443:
        # A LocalStack/moto endpoint on its own port must be reachable by the fetch steps.
        https.append({"port": s.aws.endpoint_port, "protocol": "TCP"})
    database = {"ports": [{"port": s.database.port, "protocol": "TCP"}]}
    if not s.database.external:
        database["to"] = [{"podSelector": {"matchLabels": selector_labels(s.name, DATABASE)}}]
    elif s.database.provider == "rds":
        database["to"] = _database_peers(refs)
    rules = [{"ports": _DNS_PORTS}, database, {"ports": https}]
    if s.broker and app_services:
        queue: dict = {"ports": [{"port": broker.port(s.broker), "protocol": "TCP"}]}
        if s.broker.in_cluster:
            queue["to"] = [{"podSelector": {"matchLabels": selector_labels(s.name, BROKER)}}]
        rules.append(queue)
    if s.cache and app_services:
        cached: dict = {"ports": [{"port": cache.port(s.cache), "protocol": "TCP"}]}
        if s.cache.in_cluster:
            cached["to"] = [{"podSelector": {"matchLabels": selector_labels(s.name, CACHE)}}]
        rules.append(cached)
    if s.mail and app_services:
        # The SMTP server is outside the cluster, its addresses unknown here: its port only.
        rules.append({"ports": [{"port": s.mail.port, "protocol": "TCP"}]})
    if s.aws and s.aws.pod_identity:
        # The fetch steps' credentials come from the node's EKS Pod Identity agent (plain HTTP
        # on a link-local address); web-identity needs only STS on 443.
        rules.append(
            {
                "to": [
                    {"ipBlock": {"cidr": POD_IDENTITY_AGENT_IPV4}},
                    {"ipBlock": {"cidr": POD_IDENTITY_AGENT_IPV6}},
                ],
                "ports": [{"port": POD_IDENTITY_AGENT_PORT, "protocol": "TCP"}],
            }
        )
    return rules


def web_policy(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    sidecar_ports = [p for c in s.sidecars for p in c.ports]
    if s.way_in:
        # The load balancer (or the Gateway's pods) is the only way to the app's port: what
        # makes trusting its X-Forwarded-Proto safe.
        ingress = [
            {"from": way_in.ingress_peers(s.way_in), "ports": [{"port": s.port, "protocol": "TCP"}]}
        ]
        if s.monitoring and s.monitoring.app_metrics_path:
            # The scraper reads the app's metrics on its port, past the way in.
            ingress += _scraped(s.port, s)
        if sidecar_ports:
            ingress.append({"ports": [{"port": p, "protocol": "TCP"} for p in sidecar_ports]})
    else:
        ingress = [{"ports": [{"port": p, "protocol": "TCP"} for p in (s.port, *sidecar_ports)]}]
    return _policy(
        s,
        f"{s.name}-web",
        WEB,
        {
            "podSelector": {"matchLabels": selector_labels(s.name, WEB)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": _client_egress(s, refs),
        },
    )


def _client_only(
    s: Settings,
    suffix: str,
    component: str,
    refs: Optional[AwsRefs] = None,
    app_services: bool = True,
) -> dict:
    """Pods that listen on nothing and connect like the app does."""
    return _policy(
        s,
        f"{s.name}-{suffix}",
        component,
        {
            "podSelector": {"matchLabels": selector_labels(s.name, component)},
            "policyTypes": ["Ingress", "Egress"],
            "egress": _client_egress(s, refs, app_services),
        },
    )


def migrate_policy(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    """Migration Job pods."""
    return _client_only(s, "migrate", MIGRATE, refs)


def schedule_policy(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    """Scheduled runs."""
    return _client_only(s, "schedules", SCHEDULE, refs)


def process_policy(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    """Background processes: they listen on nothing but, with monitoring, the heartbeat
    exporter's port for the scraper."""
    policy = _client_only(s, "processes", PROCESS, refs)
    if s.monitoring and any(monitoring.heartbeat_exported(p) for p in s.processes):
        policy["spec"]["ingress"] = _scraped(monitoring.HEARTBEAT_PORT, s)
    return policy


def _app_clients(s: Settings) -> list[str]:
    """Components whose pods run the app's code: each may use the database and the broker."""
    return [
        WEB,
        *([MIGRATE] if s.migrations.mode == "job" else []),
        *([SCHEDULE] if s.schedules else []),
        *([PROCESS] if s.processes else []),
        *([FIRST_ADMIN] if s.first_admin else []),
        # One-off commands (python -m pulumi_djangoapp.run): possible on every app.
        RUN,
    ]


def run_policy(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    """One-off commands: like the app's clients; they listen on nothing."""
    return _client_only(s, "run", RUN, refs)


def first_admin_policy(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    """The first-admin Job: like the app's clients; it listens on nothing."""
    return _client_only(s, "first-admin", FIRST_ADMIN, refs)


def _server_only(
    s: Settings,
    suffix: str,
    component: str,
    port: int,
    clients: list[str],
    peers: tuple[dict, ...] = (),
) -> dict:
    """A server of this app: reached by ``clients`` (and ``peers`` of other namespaces) on
    ``port``; egress listed with no rules, so it opens no connections at all."""
    return _policy(
        s,
        f"{s.name}-{suffix}",
        component,
        {
            "podSelector": {"matchLabels": selector_labels(s.name, component)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        *(
                            {"podSelector": {"matchLabels": selector_labels(s.name, c)}}
                            for c in clients
                        ),
                        *peers,
                    ],
                    "ports": [{"port": port, "protocol": "TCP"}],
                }
            ],
        },
    )


def other_namespace_pods(namespace: str, pod_labels: tuple[tuple[str, str], ...]) -> dict:
    """Pods of another namespace, by the name label every namespace carries (1.22+)."""
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "podSelector": {"matchLabels": dict(pod_labels)},
    }


def scraper_peer(s: Settings) -> tuple[dict, ...]:
    """The Prometheus pods given in ``monitoring.scraper`` (none without monitoring)."""
    m = s.monitoring
    if m is None:
        return ()
    return (other_namespace_pods(m.scraper_namespace, m.scraper_pod_labels),)


def _scraped(port: int, s: Settings) -> list[dict]:
    """An ingress rule admitting only the scraper, on the metrics port."""
    return [{"from": list(scraper_peer(s)), "ports": [{"port": port, "protocol": "TCP"}]}]


def broker_policy(s: Settings) -> dict:
    # With a process scaled on its queue, the KEDA operator reads the queue lengths; with
    # monitoring, the exporter reads the server's and the lists' metrics.
    keda = (other_namespace_pods(s.keda.namespace, s.keda.pod_labels),) if s.keda else ()
    exporter = [BROKER_EXPORTER] if s.monitoring else []
    return _server_only(
        s, "broker", BROKER, broker_settings.PORT, [*_app_clients(s), *exporter], keda
    )


def _exporter_policy(
    s: Settings, suffix: str, component: str, port: int, server: str, server_port: int
) -> dict:
    """An exporter (and its role Job): scraped by the scraper on ``port``; connects to DNS and
    its server only."""
    return _policy(
        s,
        f"{s.name}-{suffix}",
        component,
        {
            "podSelector": {"matchLabels": selector_labels(s.name, component)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": _scraped(port, s),
            "egress": [
                {"ports": _DNS_PORTS},
                {
                    "to": [{"podSelector": {"matchLabels": selector_labels(s.name, server)}}],
                    "ports": [{"port": server_port, "protocol": "TCP"}],
                },
            ],
        },
    )


def broker_exporter_policy(s: Settings) -> dict:
    return _exporter_policy(
        s, "broker-exporter", BROKER_EXPORTER, monitoring.BROKER_EXPORTER_PORT, BROKER,
        broker_settings.PORT,
    )  # fmt: skip


def cache_policy(s: Settings) -> dict:
    return _server_only(s, "cache", CACHE, broker_settings.PORT, _app_clients(s))


def backup_policy(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    """Backup and restore pods: the database, DNS and S3 (HTTPS); no broker (#27)."""
    return _client_only(s, "backup", BACKUP, refs, app_services=False)


def db_admin_policy(s: Settings, refs: Optional[AwsRefs] = None) -> dict:
    """The RDS role Job: DNS, the database, HTTPS (Secrets Manager, the CA bundle); no broker."""
    return _client_only(s, "db-admin", DB_ADMIN, refs, app_services=False)


def database_policy(s: Settings) -> dict:
    return _server_only(
        s,
        "postgres",
        DATABASE,
        s.database.port,
        [
            *_app_clients(s),
            *([BACKUP] if s.backups else []),
            *([DATABASE_EXPORTER] if monitoring.database_exported(s) else []),
        ],
    )


def database_exporter_policy(s: Settings) -> dict:
    return _exporter_policy(
        s, "postgres-exporter", DATABASE_EXPORTER, monitoring.DATABASE_EXPORTER_PORT, DATABASE,
        s.database.port,
    )  # fmt: skip


def network_policies(s: Settings, refs: Optional[AwsRefs] = None) -> list[dict]:
    if not s.network_policies:
        return []
    # Default deny only where we own the namespace: in a shared one it would cut off other apps.
    policies = [default_deny(s)] if s.create_namespace else []
    policies.append(web_policy(s, refs))
    if s.database.provider == "rds":
        policies.append(db_admin_policy(s, refs))
    if s.migrations.mode == "job":
        policies.append(migrate_policy(s, refs))
    if s.schedules:
        policies.append(schedule_policy(s, refs))
    if s.processes:
        policies.append(process_policy(s, refs))
    if s.first_admin:
        policies.append(first_admin_policy(s, refs))
    policies.append(run_policy(s, refs))
    if s.backups:
        policies.append(backup_policy(s, refs))
    if not s.database.external:
        policies.append(database_policy(s))
    if s.broker and s.broker.in_cluster:
        policies.append(broker_policy(s))
    if monitoring.exported(s):
        policies.append(broker_exporter_policy(s))
    if monitoring.database_exported(s):
        policies.append(database_exporter_policy(s))
    if s.cache and s.cache.in_cluster:
        policies.append(cache_policy(s))
    return policies
