"""``DjangoApp``: registers the Kubernetes objects that the pure builders describe."""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from . import app_pod, database, network_policies, web
from .args import DjangoAppArgs
from .effective_resources import effective_pod_resources, format_resources
from .labels import WEB, labels
from .settings import Settings, normalise

TYPE_TOKEN = "djangoapp:index:DjangoApp"


def _snake(field: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", field).lower()


def sidecar_fallback_warning(s: Settings) -> Optional[str]:
    """What to tell the user when sidecars cannot be native on their oldest cluster version."""
    if s.native_sidecars or not s.sidecars:
        return None
    names = ", ".join(c.name for c in s.sidecars)
    return (
        f"DjangoApp {s.name!r}: kubernetes_version 1.{s.kubernetes_minor} has native sidecars off "
        f"by default, so {names} run as regular containers: they start after the init steps "
        "(and miss their logs) and are not stopped after the app. Set kubernetes_version to 1.29 "
        "or newer to get native sidecars."
    )


class DjangoApp(pulumi.ComponentResource):
    """A Django Deployment (gunicorn) with native sidecars, ordered init steps, an in-cluster
    PostgreSQL and generated credentials delivered as in-memory files."""

    namespace: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    database_service_name: pulumi.Output[str]
    effective_pod_requests: pulumi.Output[dict]
    effective_pod_limits: pulumi.Output[dict]

    def __init__(
        self,
        name: str,
        args: DjangoAppArgs,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        # Validate before registering anything: bad input must not leave half a component.
        settings = normalise(name, args)
        super().__init__(TYPE_TOKEN, name, {}, opts)
        self._settings = settings
        s = settings

        warning = sidecar_fallback_warning(s)
        if warning:
            pulumi.log.warn(warning, resource=self)

        deps: list[pulumi.Resource] = []
        if s.create_namespace:
            deps.append(self._apply(k8s.core.v1.Namespace, "namespace", web.namespace(s)))

        credentials = self._credentials(s, deps)
        with_secret = [*deps, credentials]

        self._apply(k8s.core.v1.ServiceAccount, "service-account", web.service_account(s), deps)
        self._apply(
            k8s.core.v1.ServiceAccount,
            "postgres-service-account",
            database.service_account(s),
            deps,
        )
        self._apply(k8s.apps.v1.StatefulSet, "postgres", database.statefulset(s), with_secret)
        db_service = self._apply(k8s.core.v1.Service, "postgres-service", database.service(s), deps)
        self._apply(
            k8s.core.v1.Service, "postgres-headless-service", database.headless_service(s), deps
        )

        deployment_manifest = app_pod.deployment(s)
        deployment = self._apply(
            k8s.apps.v1.Deployment, "deployment", deployment_manifest, with_secret
        )
        service = self._apply(k8s.core.v1.Service, "service", web.service(s), deps)
        pdb = web.pod_disruption_budget(s)
        if pdb:
            self._apply(k8s.policy.v1.PodDisruptionBudget, "pdb", pdb, deps)
        for policy in network_policies.network_policies(s):
            role = "netpol-" + policy["metadata"]["name"].removeprefix(f"{s.name}-")
            self._apply(k8s.networking.v1.NetworkPolicy, role, policy, deps)

        requests, limits = effective_pod_resources(
            app_pod.container_resources(deployment_manifest["spec"]["template"]["spec"])
        )
        self.namespace = pulumi.Output.from_input(s.namespace)
        self.deployment_name = deployment.metadata.apply(lambda m: m.name)
        self.service_name = service.metadata.apply(lambda m: m.name)
        self.database_service_name = db_service.metadata.apply(lambda m: m.name)
        self.effective_pod_requests = pulumi.Output.from_input(format_resources(requests))
        self.effective_pod_limits = pulumi.Output.from_input(format_resources(limits))
        self.register_outputs(
            {
                "namespace": self.namespace,
                "deployment_name": self.deployment_name,
                "service_name": self.service_name,
                "database_service_name": self.database_service_name,
                "effective_pod_requests": self.effective_pod_requests,
                "effective_pod_limits": self.effective_pod_limits,
            }
        )

    def _apply(
        self,
        cls: type,
        role: str,
        manifest: Mapping[str, Any],
        depends_on: Optional[list[pulumi.Resource]] = None,
    ) -> Any:
        """Register one built object as ``<name>-<role>``, parented to the component.

        The manifest's camelCase fields go to the provider as they are (the SDK passes keys it
        does not know as Python names through unchanged), so what is registered is exactly what
        the builders produced and the tests and renders inspect.
        """
        # Top-level fields are keyword arguments, so they need their Python names.
        fields = {
            _snake(k): v
            for k, v in manifest.items()
            if k not in ("apiVersion", "kind", "metadata")
        }
        return cls(
            f"{self._settings.name}-{role}",
            metadata=manifest["metadata"],
            **fields,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
        )

    def _credentials(self, s: Settings, deps: list[pulumi.Resource]) -> pulumi.Resource:
        """Generated database password and Django SECRET_KEY in one Kubernetes Secret."""
        child = pulumi.ResourceOptions(parent=self)
        # Alphanumeric: it is embedded in DATABASE_URL without URL-escaping.
        password = random.RandomPassword(
            f"{s.name}-db-password", length=32, special=False, opts=child
        )
        secret_key = random.RandomPassword(
            f"{s.name}-secret-key", length=64, special=True, override_special="!@#%^&*-_=+", opts=child
        )
        db = s.database
        data = {
            "username": db.username,
            "password": password.result,
            "database": db.database_name,
            "host": s.database_host,
            "port": str(db.port),
            app_pod.DATABASE_URL_KEY: password.result.apply(lambda p: database.database_url(s, p)),
            app_pod.SECRET_KEY_KEY: secret_key.result,
        }
        return self._apply(
            k8s.core.v1.Secret,
            "credentials",
            {
                "metadata": {
                    "name": app_pod.credentials_secret_name(s),
                    "namespace": s.namespace,
                    "labels": labels(s.name, WEB),
                },
                "type": "Opaque",
                "stringData": {k: pulumi.Output.secret(v) for k, v in data.items()},
            },
            deps,
        )
