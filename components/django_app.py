"""``DjangoApp``: registers the Kubernetes objects that the pure builders describe."""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from . import app_pod, database, manifests
from .args import DjangoAppArgs
from .effective_resources import effective_pod_resources, format_resources
from .settings import Settings, normalise

TYPE_TOKEN = "djangoapp:index:DjangoApp"

KINDS = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}


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

        password, secret_key = self._generated_secrets(s)
        secret_values = {
            "password": password,
            "database_url": password.apply(lambda p: database.database_url(s, p)),
            "secret_key": secret_key,
        }
        registered: dict[str, Any] = {}
        deployment_manifest: dict = {}
        for role, manifest in manifests.kubernetes_objects(s, secret_values):
            depends_on = [registered["namespace"]] if "namespace" in registered else []
            if role in manifests.USES_CREDENTIALS:
                depends_on.append(registered["credentials"])
            registered[role] = self._apply(role, manifest, depends_on)
            if role == "deployment":
                deployment_manifest = manifest
        deployment, service, db_service = (
            registered["deployment"],
            registered["service"],
            registered["postgres-service"],
        )

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

    def _apply(self, role: str, manifest: Mapping[str, Any], depends_on: list) -> Any:
        """Register one built object as ``<name>-<role>``, parented to the component.

        Nested camelCase fields go to the provider as they are (the SDK passes keys it does not
        know as Python names through unchanged), so what is registered is exactly what the
        builders produced and what tests and renders inspect.
        """
        cls = KINDS[(manifest["apiVersion"], manifest["kind"])]
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

    def _generated_secrets(self, s: Settings) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The database password and Django's SECRET_KEY, generated once and kept in state."""
        child = pulumi.ResourceOptions(parent=self)
        # Alphanumeric: it is embedded in DATABASE_URL without URL-escaping.
        password = random.RandomPassword(
            f"{s.name}-db-password", length=32, special=False, opts=child
        )
        secret_key = random.RandomPassword(
            f"{s.name}-secret-key",
            length=64,
            special=True,
            override_special="!@#%^&*-_=+",
            opts=child,
        )
        return pulumi.Output.secret(password.result), pulumi.Output.secret(secret_key.result)
