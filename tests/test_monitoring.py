"""Metrics: the arguments, the PodMonitors (checked against the Prometheus Operator's own CRD
schemas), the heartbeat exporter sidecar, the broker exporter and who may reach them. The
sidecar and the exporter's user run for real in ``contract/test_contract_monitoring.py``; the
alerts are evaluated by promtool in ``test_alerts.py``."""

import crd_schema
import kubernetes_validate
import pytest
import upstream
from conftest import MINIMAL
from harness import run_program

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.builders import monitoring
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.settings.checks import ValidationError

SCRAPER = {"namespace": "monitoring", "pod_labels": {"app.kubernetes.io/name": "prometheus"}}
ARGS = {
    **MINIMAL,
    "broker": {},
    "ingress": {"hosts": ["shop.example.com"], "ingress_cidrs": ["10.0.0.0/24"]},
    "processes": [
        {"name": "worker", "command": ["celery", "worker"]},
        {"name": "beat", "command": ["celery", "beat"], "singleton": True},
        {"name": "mailer", "command": ["python", "mailer.py"], "probes": False},
    ],
    "monitoring": {"scraper": SCRAPER, "labels": {"release": "kube-prometheus-stack"}},
}


@pytest.fixture(scope="module")
def registered():
    return run_program(lambda: DjangoApp("shop", ARGS).namespace)


def refused(monitoring_args):
    with pytest.raises(ValidationError) as error:
        normalise("shop", {**MINIMAL, "monitoring": monitoring_args})
    return {p.field: p for p in error.value.problems}


def test_monitoring_cannot_go_without_a_scraper_and_every_bad_value_is_named():
    assert "monitoring.scraper" in refused({})
    problems = refused(
        {"scraper": {"namespace": "", "pod_labels": {}}, "app_metrics_path": "metrics",
         "backlog_minutes": 0, "runbook_base_url": "https://example.com/", "colour": "red"}
    )  # fmt: skip
    assert {
        "monitoring.scraper.namespace", "monitoring.scraper.pod_labels",
        "monitoring.app_metrics_path", "monitoring.backlog_minutes",
        "monitoring.runbook_base_url", "monitoring.colour",
    } <= set(problems)  # fmt: skip


def test_pod_monitors_pass_the_operators_own_crd_schema_and_carry_the_selector_labels(registered):
    crd = upstream.prometheus_operator_crds()["PodMonitor"]
    monitors = {r.inputs["metadata"]["name"]: r.inputs for r in registered.of_type(":PodMonitor")}
    assert set(monitors) == {
        "shop-app", "shop-heartbeats", "shop-broker-exporter", "shop-postgres-exporter",
    }  # fmt: skip
    for monitor in monitors.values():
        assert crd_schema.errors(monitor, crd) == []
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitors["shop-app"]["spec"]["podMetricsEndpoints"] == [
        {"port": "http", "path": "/metrics"}
    ]


def test_a_pod_monitor_with_a_misspelt_field_cannot_pass_the_operators_schema():
    crd = upstream.prometheus_operator_crds()["PodMonitor"]
    s = normalise("shop", ARGS)
    (_, monitor), *_ = monitoring.pod_monitors(s)
    monitor["spec"]["podMetricsEndpoints"][0]["interval_seconds"] = 30
    assert any("interval_seconds" in e for e in crd_schema.errors(monitor, crd))


def test_an_app_without_metrics_gets_no_app_pod_monitor():
    s = normalise("shop", {**ARGS, "monitoring": {"scraper": SCRAPER, "app_metrics_path": ""}})
    assert [role for role, _ in monitoring.pod_monitors(s)] == [
        "heartbeats", "postgres-exporter", "broker-exporter",
    ]  # fmt: skip


def test_processes_with_a_heartbeat_get_the_exporter_sidecar_and_others_cannot(registered):
    def init_names(name):
        deployment = registered.one("apps/v1:Deployment", f"shop-process-{name}")
        return [c["name"] for c in deployment.inputs["spec"]["template"]["spec"]["initContainers"]]

    assert init_names("worker")[0] == init_names("beat")[0] == "heartbeat-exporter"
    assert "heartbeat-exporter" not in init_names("mailer"), "no probes, no heartbeat file"
    beat = registered.one("apps/v1:Deployment", "shop-process-beat").inputs["spec"]["template"][
        "spec"
    ]
    sidecar = beat["initContainers"][0]
    assert sidecar["image"] == ARGS["image"] and sidecar["restartPolicy"] == "Always"
    assert sidecar["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp", "readOnly": True}]
    assert sidecar["securityContext"]["readOnlyRootFilesystem"] is True
    assert "limits" in sidecar["resources"]


def test_without_monitoring_no_process_gets_the_sidecar():
    run = run_program(
        lambda: DjangoApp("shop", {k: v for k, v in ARGS.items() if k != "monitoring"}).namespace
    )
    for deployment in run.of_type(":Deployment"):
        names = [
            c["name"]
            for c in deployment.inputs["spec"]["template"]["spec"].get("initContainers", [])
        ]
        assert "heartbeat-exporter" not in names
    assert not run.of_type(":PodMonitor") and not run.of_type(":PrometheusRule")


@pytest.mark.parametrize("version", ["1.32.0", "1.37.0"])
def test_the_broker_exporter_is_restricted_and_valid(registered, version):
    exporter = registered.one("apps/v1:Deployment", "shop-broker-exporter")
    manifest = {"apiVersion": "apps/v1", "kind": "Deployment", **exporter.inputs}
    kubernetes_validate.validate(manifest, version, strict=True)
    (container,) = exporter.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert "REDIS_PASSWORD" not in env and env["REDIS_USER"] == "metrics-exporter"
    assert env["REDIS_EXPORTER_DISABLE_EXPORTING_KEY_VALUES"] == "true"
    assert env["REDIS_EXPORTER_CHECK_SINGLE_KEYS"].split(",")[0] == "db0=celery"
    # The image's own user (its Dockerfile: USER 59000:59000).
    assert container["securityContext"]["runAsUser"] == 59000


def peers(policy, port):
    return [p for rule in policy.get("ingress", []) for p in rule.get("from", [])
            if {"port": port, "protocol": "TCP"} in rule["ports"]]  # fmt: skip


def test_the_scraper_alone_reaches_the_metrics_ports(registered):
    policies = {
        r.inputs["metadata"]["name"]: r.inputs["spec"] for r in registered.of_type("NetworkPolicy")
    }
    scraper = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
    assert peers(policies["shop-processes"], monitoring.HEARTBEAT_PORT) == [scraper]
    assert peers(policies["shop-broker-exporter"], monitoring.BROKER_EXPORTER_PORT) == [scraper]
    # The app's port: the way in's CIDRs and the scraper, no one else.
    web = peers(policies["shop-web"], 8000)
    assert scraper in web and all("ipBlock" in p or p == scraper for p in web)
    # The exporter reaches the broker, and the broker admits it.
    broker_from = [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                   for p in policies["shop-broker"]["ingress"][0]["from"] if "podSelector" in p]  # fmt: skip
    assert "broker-exporter" in broker_from


def test_the_broker_restarts_once_to_load_the_exporters_user(registered):
    acl = registered.one("core/v1:Secret").inputs["stringData"]["broker-users.acl"]
    assert [line.split()[1] for line in acl.splitlines()] == ["default", "metrics-exporter"]
    template = registered.one("StatefulSet", "shop-broker").inputs["spec"]["template"]
    assert (
        template["metadata"]["annotations"]["djangoapp.io/acl-users"] == "default,metrics-exporter"
    )


def test_the_exporters_user_may_run_only_what_the_exporter_sends():
    line = monitoring.exporter_acl_line("pw")
    granted = {w[1:] for w in line.split() if w.startswith("+")}
    assert not any(g.startswith("@") for g in granted)
    assert (
        not {"get", "lrange", "config|get", "client|list", "client|kill", "slowlog|get"} & granted
    )


@pytest.mark.parametrize("version", ["1.32.0", "1.37.0"])
def test_the_database_exporter_logs_in_as_the_monitor_role_from_a_file(registered, version):
    exporter = registered.one("apps/v1:Deployment", "shop-postgres-exporter")
    kubernetes_validate.validate(
        {"apiVersion": "apps/v1", "kind": "Deployment", **exporter.inputs}, version, strict=True
    )
    spec = exporter.inputs["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["DATA_SOURCE_USER"] == "shop_monitor" and "DATA_SOURCE_PASS" not in env
    assert (
        env["DATA_SOURCE_URI"]
        == "shop-postgres.shop.svc.cluster.local:5432/postgres?sslmode=disable"
    )
    (volume,) = spec["volumes"]
    assert volume["secret"]["items"] == [{"key": "monitor-password", "path": "monitor-password"}]
    assert container["securityContext"]["runAsUser"] == 65534, "the image's nobody"


def test_the_monitor_role_job_reads_the_app_password_and_sends_only_the_verifier(registered):
    job = registered.one("batch/v1:Job", "shop-monitor-role")
    spec = job.inputs["spec"]["template"]["spec"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == "password"]
    assert [i["key"] for i in volume["secret"]["items"]] == [
        "password",
        "monitor-password-verifier",
    ]
    assert "GRANT pg_monitor" in monitoring.MONITOR_ROLE_SQL
    assert "PASSWORD :'verifier'" in monitoring.MONITOR_ROLE_SQL
    assert "NOSUPERUSER NOCREATEDB NOCREATEROLE" in monitoring.MONITOR_ROLE_SQL
    exporter = registered.one("apps/v1:Deployment", "shop-postgres-exporter")
    assert (
        job.urn in exporter.dependencies
        and registered.one("StatefulSet", "shop-postgres").urn in job.dependencies
    )


def test_the_database_admits_its_exporter_and_the_scraper_alone_reaches_the_exporter(registered):
    policies = {
        r.inputs["metadata"]["name"]: r.inputs["spec"] for r in registered.of_type("NetworkPolicy")
    }
    admitted = [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                for p in policies["shop-postgres"]["ingress"][0]["from"]]  # fmt: skip
    assert "database-exporter" in admitted
    (peer,) = peers(policies["shop-postgres-exporter"], monitoring.DATABASE_EXPORTER_PORT)
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}


def test_an_external_database_gets_no_exporter_nor_monitor_role():
    s = normalise("shop", {**ARGS, "database": {"host": "db.example.com"}})
    assert not monitoring.database_exported(s)
    assert "postgres-exporter" not in [role for role, _ in monitoring.pod_monitors(s)]
