"""The component's objects through the real engine, the real kubernetes provider and a real API
server (with kwok as the kubelet): what the mocks cannot show.

The project's own program is Python, and the Python language host is not served by the Go module
proxy (CONTRIBUTING "The real tools"), so the real engine cannot run it here. What it can run is a
Pulumi YAML program holding exactly what the component registers: every object of
``builders/manifests.built_objects`` for an e2e configuration (kubernetes backend, in-cluster
database, broker and cache, mail, the first-admin Job, a Celery worker scaled on its queue and beat,
metrics and alerts, a schedule, job-mode migrations (with the deploy check), an HTTPRoute,
``kubernetes_version`` 1.34 as served here), each with the options its facts give
(``dependsOn``, ``ignoreChanges``, ``customTimeouts``, ``replaceOnChanges``, patches as Patch
resources). What that proves, and what it cannot, is in CONTRIBUTING "The real tools".

Checks, each with its negative control where one exists:
0. KEDA's and the Prometheus Operator's CRDs installed from their Go modules, so the API server
   validates the ScaledObject, TriggerAuthentication, PodMonitors and PrometheusRule.
1. ``preview`` then ``up``: every object accepted with PodSecurity ``restricted`` enforced (and
   warned: no PodSecurity warning in the engine's output); the workloads Ready, the Job complete,
   within the component's timeouts.
2. No perpetual diff: ``preview --expect-no-changes`` and ``refresh --expect-no-changes`` pass
   after ``up``; a changed input makes ``preview --expect-no-changes`` fail.
3. ``destroy``: everything goes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import smoke
import upstream

from pulumi_djangoapp.builders import manifests
from pulumi_djangoapp.settings import normalise

GATEWAY_API = "sigs.k8s.io/gateway-api@v1.6.3"
STORAGE_CLASS = "e2e-local"
NAMESPACE = "shop-e2e"
ARGS = {
    "image": "ghcr.io/example/django-shop:1.0.0",
    "namespace": NAMESPACE,
    "secrets_backend": "kubernetes",
    "kubernetes_version": "1.34",
    "replicas": 2,
    "migrations": "job",
    "database": {"storage_class": STORAGE_CLASS, "storage_size": "2Gi"},
    "broker": {"storage_class": STORAGE_CLASS},
    "cache": {},
    "first_admin": {},
    "mail": {"url": "smtp://relay.e2e.test:587", "default_from_email": "shop@e2e.test"},
    "processes": [
        {
            "name": "worker",
            "command": ["celery", "-A", "project", "worker"],
            "queue_autoscaling": {"max_replicas": 3},
        },
        {"name": "beat", "command": ["celery", "-A", "project", "beat"], "singleton": True},
    ],
    "monitoring": {
        "scraper": {
            "namespace": "monitoring",
            "pod_labels": {"app.kubernetes.io/name": "prometheus"},
        }
    },
    "schedules": [
        {
            "name": "clearsessions",
            "schedule": "0 3 * * *",
            "command": ["python", "manage.py", "clearsessions"],
        }
    ],
    "http_route": {
        "hosts": ["shop.e2e.test"],
        "parent_refs": [{"name": "e2e", "namespace": "gateway"}],
    },
}
SECRETS = {
    k: f"e2e-{k}-value" for k in (*manifests.SECRET_VALUES, *manifests.FEATURE_SECRET_VALUES)
}
# Pulumi YAML has no CustomResource (pulumi-kubernetes issue 1971): a custom object such as the
# HTTPRoute goes in a ConfigGroup of one object, which registers the same object.
TYPES = {"CustomResource": "kubernetes:yaml/v2:ConfigGroup"}
CUSTOM_GROUPS = ("gateway.networking.k8s.io", "keda.sh", "monitoring.coreos.com")


def resource_type(obj: dict, patch: bool) -> str:
    group, _, version = obj["apiVersion"].rpartition("/")
    if obj["apiVersion"].startswith(CUSTOM_GROUPS):
        return TYPES["CustomResource"]
    group = {"": "core", "apps": "apps", "batch": "batch", "policy": "policy"}.get(group, group)
    return f"kubernetes:{group}/{version}:{obj['kind']}{'Patch' if patch else ''}"


def program(args: dict) -> dict:
    """The YAML program: each built object as a resource named as the component names it."""
    s = normalise("shop", args)
    built = manifests.built_objects(s, SECRETS)
    names = {b.role: f"shop-{b.role}" for b in built}
    resources = {}
    earlier: set[str] = set()
    for b in built:
        facts = b.facts
        options: dict = {"dependsOn": [f"${{{names[r]}}}" for r in manifests.waits_for(b, earlier)]}
        earlier.add(b.role)
        if facts.ignore_changes:
            options["ignoreChanges"] = list(facts.ignore_changes)
        if facts.replace_on_change:
            options["replaceOnChanges"] = ["spec"]
            options["deleteBeforeReplace"] = True
        if facts.await_seconds:
            minutes = manifests.await_minutes(facts.await_seconds)
            options["customTimeouts"] = {"create": f"{minutes}m", "update": f"{minutes}m"}
        kind = resource_type(b.object, facts.patches is not None)
        if kind == TYPES["CustomResource"]:
            properties = {"objs": [b.object]}
        else:
            properties = {k: v for k, v in b.object.items() if k not in ("apiVersion", "kind")}
        resources[names[b.role]] = {
            "type": kind,
            "properties": _escaped(properties),
            "options": options,
        }
    return {"name": "lifecycle", "runtime": "yaml", "resources": resources}


def _escaped(value):
    """Pulumi YAML reads ``${...}`` in any string as an interpolation; the scripts' shell variables
    are written ``$${...}`` so they reach the cluster as written."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


def storage(cluster: smoke.Cluster) -> None:
    """A class with volume expansion and static volumes on the kwok node: nothing provisions here."""
    cluster.api("POST", "/apis/storage.k8s.io/v1/storageclasses", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": STORAGE_CLASS},
        "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True,
    })  # fmt: skip
    for index in range(4):
        cluster.api("POST", "/api/v1/persistentvolumes", {
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"e2e-pv-{index}"},
            "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": STORAGE_CLASS,
                     "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": f"/tmp/e2e-pv-{index}"},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "type", "operator": "In", "values": ["kwok"]}]}]}}},
        })  # fmt: skip


def gateway_api_crds(cluster: smoke.Cluster) -> None:
    done = subprocess.run(
        ["go", "mod", "download", "-json", GATEWAY_API], capture_output=True, text=True, check=True
    )
    folder = Path(json.loads(done.stdout)["Dir"]) / "config" / "crd" / "standard"
    for name in ("gateway.networking.k8s.io_httproutes.yaml",):
        for crd in yaml.safe_load_all((folder / name).read_text()):
            if crd:
                cluster.api("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    cluster.wait(
        "the HTTPRoute CRD", lambda: cluster.api("GET", "/apis/gateway.networking.k8s.io/v1")
    )


def operator_crds(cluster: smoke.Cluster) -> None:
    """KEDA's and the Prometheus Operator's CRDs from their own Go modules (tests/upstream.py):
    the API server accepts the ScaledObject, TriggerAuthentication, PodMonitors and
    PrometheusRule only as those schemas allow (no operator runs here)."""
    crds = {**upstream.keda_crds(), **upstream.prometheus_operator_crds()}
    for crd in crds.values():
        cluster.api("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    for group in ("keda.sh/v1alpha1", "monitoring.coreos.com/v1"):
        cluster.wait(f"the {group} CRDs", lambda g=group: cluster.api("GET", f"/apis/{g}"))


def custom_objects(cluster: smoke.Cluster) -> dict[str, list[str]]:
    found = {}
    for path, kind in (
        ("keda.sh/v1alpha1", "scaledobjects"),
        ("keda.sh/v1alpha1", "triggerauthentications"),
        ("monitoring.coreos.com/v1", "podmonitors"),
        ("monitoring.coreos.com/v1", "prometheusrules"),
    ):
        items = cluster.api("GET", f"/apis/{path}/namespaces/{NAMESPACE}/{kind}").get("items", [])
        found[kind] = sorted(i["metadata"]["name"] for i in items)
    return found


class _Plain(yaml.SafeDumper):
    """Pulumi YAML refuses anchors and aliases: every shared value written out in full."""

    def ignore_aliases(self, data) -> bool:
        return True


def write(root: Path, args: dict) -> None:
    (root / "program" / "Pulumi.yaml").write_text(
        yaml.dump(program(args), Dumper=_Plain, sort_keys=False)
    )


def run(root: Path, cluster: smoke.Cluster, *args: str, expect_failure: bool = False) -> str:
    try:
        out = smoke.pulumi(root, cluster, *args)
    except RuntimeError as error:
        if expect_failure:
            return str(error)
        raise
    if expect_failure:
        raise AssertionError(f"pulumi {' '.join(args)} passed; it must fail")
    return out


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="djangoapp-lifecycle-"))
    for folder in ("home", "pulumi-home", "state", "program"):
        (root / folder).mkdir()
    write(root, ARGS)
    cluster = smoke.Cluster(root)
    started, failed, passed = time.monotonic(), None, []

    def step(name, action):
        began = time.monotonic()
        result = action()
        print(f"{name}: {time.monotonic() - began:.1f}s", flush=True)
        passed.append(name)
        return result

    try:
        step("control plane + kwok up", cluster.up)
        step("storage class and static volumes", lambda: storage(cluster))
        step("Gateway API CRDs (v1.6.3)", lambda: gateway_api_crds(cluster))
        step("KEDA and Prometheus Operator CRDs", lambda: operator_crds(cluster))
        run(root, cluster, "stack", "init", "organization/lifecycle/e2e")
        step("preview", lambda: run(root, cluster, "preview"))
        out = step("up", lambda: run(root, cluster, "up", "--yes", "--skip-preview"))
        assert "PodSecurity" not in out and "violate" not in out, out[-3000:]
        apps = cluster.api("GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments")["items"]
        ready = {d["metadata"]["name"]: d["status"].get("readyReplicas", 0) for d in apps}
        assert ready == {
            "shop": 2, "shop-worker": 1, "shop-beat": 1, "shop-cache": 1,
            "shop-broker-exporter": 1, "shop-postgres-exporter": 1,
        }, ready  # fmt: skip
        assert custom_objects(cluster) == {
            "scaledobjects": ["shop-worker"],
            "triggerauthentications": ["shop-broker-scaler"],
            "podmonitors": [
                "shop-app",
                "shop-broker-exporter",
                "shop-heartbeats",
                "shop-postgres-exporter",
            ],
            "prometheusrules": ["shop-alerts"],
        }, custom_objects(cluster)
        sets = cluster.api("GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets")["items"]
        assert {s["metadata"]["name"]: s["status"].get("readyReplicas", 0) for s in sets} == {
            "shop-postgres": 1,
            "shop-broker": 1,
        }
        step(
            "preview --expect-no-changes",
            lambda: run(root, cluster, "preview", "--expect-no-changes"),
        )
        step(
            "refresh --expect-no-changes",
            lambda: run(root, cluster, "refresh", "--yes", "--expect-no-changes"),
        )
        write(root, {**ARGS, "image": "ghcr.io/example/django-shop:1.0.1"})
        step(
            "a changed input fails preview --expect-no-changes",
            lambda: run(root, cluster, "preview", "--expect-no-changes", expect_failure=True),
        )
        write(root, ARGS)
        step("destroy", lambda: run(root, cluster, "destroy", "--yes"))
        left = cluster.api("GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments")
        assert left.get("items", []) == [], "destroy left Deployments"
    except Exception as error:
        failed = f"after {passed}: {error}"
    return smoke.finish(cluster, root, started, "lifecycle", failed, f"{len(passed)} passed")


if __name__ == "__main__":
    sys.exit(main())
