"""NetworkPolicies: the app reachable on its ports, Postgres only from the app.

In a namespace the component owns, everything else is denied. The app may resolve names, reach
its database and open HTTPS connections (cloud APIs, log sinks); Postgres may open nothing.
"""

from __future__ import annotations

from .labels import DATABASE, WEB, labels, selector_labels
from .settings import Settings

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


def web_policy(s: Settings) -> dict:
    ports = [s.port, *(p for c in s.sidecars for p in c.ports)]
    https = [{"port": 443, "protocol": "TCP"}]
    if s.aws and s.aws.endpoint_port and s.aws.endpoint_port != 443:
        # A LocalStack/moto endpoint on its own port must be reachable by the fetch steps.
        https.append({"port": s.aws.endpoint_port, "protocol": "TCP"})
    return _policy(
        s,
        f"{s.name}-web",
        WEB,
        {
            "podSelector": {"matchLabels": selector_labels(s.name, WEB)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"ports": [{"port": p, "protocol": "TCP"} for p in ports]}],
            "egress": [
                {"ports": _DNS_PORTS},
                {
                    "to": [{"podSelector": {"matchLabels": selector_labels(s.name, DATABASE)}}],
                    "ports": [{"port": s.database.port, "protocol": "TCP"}],
                },
                {"ports": https},
            ],
        },
    )


def database_policy(s: Settings) -> dict:
    return _policy(
        s,
        f"{s.name}-postgres",
        DATABASE,
        {
            "podSelector": {"matchLabels": selector_labels(s.name, DATABASE)},
            # Egress listed with no rules: the database opens no connections at all.
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": selector_labels(s.name, WEB)}}],
                    "ports": [{"port": s.database.port, "protocol": "TCP"}],
                }
            ],
        },
    )


def network_policies(s: Settings) -> list[dict]:
    if not s.network_policies:
        return []
    # Default deny only where we own the namespace: in a shared one it would cut off other apps.
    owned = [default_deny(s)] if s.create_namespace else []
    return [*owned, web_policy(s), database_policy(s)]
