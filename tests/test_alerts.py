"""The PrometheusRule's alerts, evaluated by Prometheus' own ``promtool test rules`` (Debian's
``prometheus`` package; ``make test`` installs it) on synthetic series: each alert fires when
what it watches stops, and stays silent while it works. The series names and labels are those
of kube-state-metrics, the broker exporter and the heartbeat exporter."""

import shutil
import subprocess

import crd_schema
import pytest
import upstream
import yaml
from conftest import MINIMAL

from pulumi_djangoapp.builders import alerts
from pulumi_djangoapp.settings import normalise

ARGS = {
    **MINIMAL,
    "broker": {},
    "backups": {"restore_drill": {}},
    "processes": [
        {"name": "worker", "command": ["celery", "worker"], "queue_autoscaling": {"max_replicas": 4}},
        {"name": "beat", "command": ["celery", "beat"], "singleton": True},
    ],
    "monitoring": {
        "scraper": {"namespace": "monitoring", "pod_labels": {"app.kubernetes.io/name": "prometheus"}},
        "backlog_messages": 100,
        "backlog_minutes": 15,
    },
}  # fmt: skip
APP = {"namespace": "shop", "djangoapp": "shop"}


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        raise RuntimeError("promtool is not installed: `make test` installs Debian's prometheus")
    return found


@pytest.fixture(scope="module")
def rule_file(tmp_path_factory):
    rule = alerts.prometheus_rule(normalise("shop", ARGS))
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"]))
    return path


def with_annotations(tests: list[dict]) -> list[dict]:
    """promtool compares annotations too: each expected alert gets its rule's own (what these
    tests check is when an alert fires and with which labels, not its wording)."""
    rule = alerts.prometheus_rule(normalise("shop", ARGS))
    annotations = {r["alert"]: r["annotations"] for r in rule["spec"]["groups"][0]["rules"]}
    for test in tests:
        for case in test["alert_rule_test"]:
            for expected in case["exp_alerts"]:
                expected.setdefault("exp_annotations", annotations[case["alertname"]])
    return tests


def run_tests(rule_file, tests: list[dict], every: str = "1m") -> subprocess.CompletedProcess:
    """``every``: how often promtool evaluates the rules (an hour for alerts over days)."""
    tests = with_annotations(tests)
    test_file = rule_file.parent / "tests.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {"rule_files": [rule_file.name], "evaluation_interval": every, "tests": tests}
        )
    )
    return subprocess.run(
        [promtool(), "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=rule_file.parent,
    )


def passes(rule_file, tests, every="1m"):
    result = run_tests(rule_file, tests, every)
    assert result.returncode == 0, result.stdout + result.stderr


def labels(severity, **more):
    return {"severity": severity, **APP, **more}


def test_the_rules_are_valid_for_promtool_and_for_the_operators_crd(rule_file):
    result = subprocess.run(
        [promtool(), "check", "rules", str(rule_file)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rule = alerts.prometheus_rule(normalise("shop", ARGS))
    assert crd_schema.errors(rule, upstream.prometheus_operator_crds()["PrometheusRule"]) == []
    names = [r["alert"] for r in rule["spec"]["groups"][0]["rules"]]
    assert names == [
        "DjangoAppHeartbeatStale", "DjangoAppDatabaseDown", "DjangoAppBrokerDown",
        "DjangoAppQueueBacklog", "DjangoAppBackupStale",
        "DjangoAppRestoreDrillStale", "DjangoAppRestoreDrillFailed", "DjangoAppMigrationFailed",
        "DjangoAppCrashLooping",
    ]  # fmt: skip
    for r in rule["spec"]["groups"][0]["rules"]:
        assert r["annotations"]["runbook_url"].startswith("docs/runbooks/")


def test_a_harness_expecting_the_wrong_alert_cannot_pass(rule_file):
    """Fidelity: promtool fails a test whose expected alerts differ from what fires."""
    result = run_tests(
        rule_file,
        [
            {
                "interval": "1m",
                "input_series": [],
                "alert_rule_test": [
                    {"eval_time": "10m", "alertname": "DjangoAppQueueBacklog",
                     "exp_alerts": [{"exp_labels": labels("warning")}]},
                ],
            }
        ],
    )  # fmt: skip
    assert result.returncode != 0 and "FAILED" in (result.stdout + result.stderr)


def heartbeat(values):
    series = 'djangoapp_process_heartbeat_timestamp_seconds{namespace="shop", process="beat", pod="shop-beat-1"}'
    return [{"series": series, "values": values}]


def test_beat_heartbeat_can_fire_when_beat_stops_ticking_and_cannot_while_it_ticks(rule_file):
    passes(
        rule_file,
        [
            # Ticks every minute until minute 20, then the file is no longer touched.
            {"interval": "1m", "input_series": heartbeat("0+60x20 1200x20"),
             "alert_rule_test": [
                 {"eval_time": "20m", "alertname": "DjangoAppHeartbeatStale", "exp_alerts": []},
                 {"eval_time": "30m", "alertname": "DjangoAppHeartbeatStale",
                  "exp_alerts": [{"exp_labels": labels("critical")}]},
             ]},
            {"interval": "1m", "input_series": heartbeat("0+60x60"),
             "alert_rule_test": [
                 {"eval_time": "59m", "alertname": "DjangoAppHeartbeatStale", "exp_alerts": []},
             ]},
            # No beat pod at all (nothing scraped): absent.
            {"interval": "1m", "input_series": [],
             "alert_rule_test": [
                 {"eval_time": "5m", "alertname": "DjangoAppHeartbeatStale",
                  "exp_alerts": [{"exp_labels": labels("critical", process="beat")}]},
             ]},
        ],
    )  # fmt: skip


def backlog(values, key="celery"):
    series = f'redis_key_size{{job="shop/shop-broker-exporter", namespace="shop", db="db0", key="{key}"}}'
    return {"series": series, "values": values}


def test_a_backlog_can_fire_after_its_minutes_above_the_bound_and_cannot_below_it(rule_file):
    passes(
        rule_file,
        [
            # 60 in the queue and 60 at priority 9: 120 waiting, above 100 for 15 minutes.
            {"interval": "1m", "input_series": [backlog("60x30"), backlog("60x30", "celery\x06\x169")],
             "alert_rule_test": [
                 {"eval_time": "10m", "alertname": "DjangoAppQueueBacklog", "exp_alerts": []},
                 {"eval_time": "20m", "alertname": "DjangoAppQueueBacklog",
                  "exp_alerts": [{"exp_labels": labels("warning")}]},
             ]},
            {"interval": "1m", "input_series": [backlog("90x30")],
             "alert_rule_test": [
                 {"eval_time": "25m", "alertname": "DjangoAppQueueBacklog", "exp_alerts": []},
             ]},
            # Another app's broker is not this app's backlog.
            {"interval": "1m",
             "input_series": [{"series": 'redis_key_size{job="shop/other-broker-exporter", key="celery"}', "values": "500x30"}],
             "alert_rule_test": [
                 {"eval_time": "25m", "alertname": "DjangoAppQueueBacklog", "exp_alerts": []},
             ]},
        ],
    )  # fmt: skip


def cronjob(metric, cronjob_name, values):
    return {"series": f'{metric}{{namespace="shop", cronjob="{cronjob_name}"}}', "values": values}


@pytest.mark.parametrize(
    "alert, cronjob_name",
    [("DjangoAppBackupStale", "shop-backup"), ("DjangoAppRestoreDrillStale", "shop-restore-drill")],
)
def test_a_nightly_job_can_be_stale_after_a_day_and_a_half_and_cannot_while_it_succeeds(
    rule_file, alert, cronjob_name
):
    fired = labels("critical", cronjob=cronjob_name)
    passes(
        rule_file,
        [
            # Succeeded at 0h, then never again.
            {"interval": "1h", "input_series": [
                cronjob("kube_cronjob_created", cronjob_name, "0x48"),
                cronjob("kube_cronjob_status_last_successful_time", cronjob_name, "0x48")],
             "alert_rule_test": [
                 {"eval_time": "30h", "alertname": alert, "exp_alerts": []},
                 {"eval_time": "40h", "alertname": alert, "exp_alerts": [{"exp_labels": fired}]},
             ]},
            # Succeeds every night (the value is the success's Unix time).
            {"interval": "1h", "input_series": [
                cronjob("kube_cronjob_created", cronjob_name, "0x72"),
                cronjob("kube_cronjob_status_last_successful_time", cronjob_name,
                        "0x24 86400x24 172800x24")],
             "alert_rule_test": [
                 {"eval_time": "70h", "alertname": alert, "exp_alerts": []},
             ]},
            # Created, never succeeded.
            {"interval": "1h", "input_series": [cronjob("kube_cronjob_created", cronjob_name, "0x48")],
             "alert_rule_test": [
                 {"eval_time": "20h", "alertname": alert, "exp_alerts": []},
                 {"eval_time": "40h", "alertname": alert, "exp_alerts": [{"exp_labels": fired}]},
             ]},
        ],
        every="1h",
    )  # fmt: skip


def job_failed(job, condition="true", value="1x20"):
    return {
        "series": f'kube_job_failed{{namespace="shop", job_name="{job}", condition="{condition}"}}',
        "values": value,
    }


@pytest.mark.parametrize(
    "alert, severity, job",
    [
        ("DjangoAppMigrationFailed", "critical", "shop-migrate-3f2a1b9c0d"),
        ("DjangoAppMigrationFailed", "critical", "shop-release-3f2a1b9c0d"),
        ("DjangoAppRestoreDrillFailed", "warning", "shop-restore-drill-29410850"),
    ],
)
def test_a_failed_job_can_fire_and_a_succeeded_or_foreign_one_cannot(
    rule_file, alert, severity, job
):
    passes(
        rule_file,
        [
            {"interval": "1m", "input_series": [job_failed(job)],
             "alert_rule_test": [
                 {"eval_time": "5m", "alertname": alert, "exp_alerts": [{"exp_labels": labels(severity)}]},
             ]},
            {"interval": "1m", "input_series": [
                job_failed(job, "true", "0x20"), job_failed(job, "false", "1x20"),
                job_failed(job.replace("shop-", "other-", 1))],
             "alert_rule_test": [
                 {"eval_time": "5m", "alertname": alert, "exp_alerts": []},
             ]},
        ],
    )  # fmt: skip


def test_a_container_in_crash_loop_back_off_can_fire_and_a_steady_one_cannot(rule_file):
    waiting = 'kube_pod_container_status_waiting_reason{namespace="shop", pod="shop-worker-7d9c-x2", container="worker", reason="CrashLoopBackOff"}'
    restarts = 'kube_pod_container_status_restarts_total{namespace="shop", pod="shop-worker-7d9c-x2", container="worker"}'
    fired = labels("warning", pod="shop-worker-7d9c-x2", container="worker")
    passes(
        rule_file,
        [
            {"interval": "1m", "input_series": [{"series": waiting, "values": "1x30"}],
             "alert_rule_test": [
                 {"eval_time": "5m", "alertname": "DjangoAppCrashLooping", "exp_alerts": []},
                 {"eval_time": "15m", "alertname": "DjangoAppCrashLooping", "exp_alerts": [{"exp_labels": fired}]},
             ]},
            # Restarting every two minutes, between back-offs.
            {"interval": "1m", "input_series": [{"series": restarts, "values": "0+0.5x40"}],
             "alert_rule_test": [
                 {"eval_time": "30m", "alertname": "DjangoAppCrashLooping", "exp_alerts": [{"exp_labels": fired}]},
             ]},
            {"interval": "1m", "input_series": [{"series": restarts, "values": "2x40"},
                                                 {"series": waiting.replace("CrashLoopBackOff", "ContainerCreating"), "values": "1x40"}],
             "alert_rule_test": [
                 {"eval_time": "30m", "alertname": "DjangoAppCrashLooping", "exp_alerts": []},
             ]},
        ],
    )  # fmt: skip


@pytest.mark.parametrize(
    "alert, series",
    [
        ("DjangoAppDatabaseDown", 'pg_up{job="shop/shop-postgres-exporter", namespace="shop"}'),
        ("DjangoAppBrokerDown", 'redis_up{job="shop/shop-broker-exporter", namespace="shop"}'),
    ],
)
def test_a_server_can_be_down_after_five_minutes_and_cannot_while_it_answers(
    rule_file, alert, series
):
    fired = labels("critical", job=series.split('"')[1])
    passes(
        rule_file,
        [
            {"interval": "1m", "input_series": [{"series": series, "values": "1x10 0x20"}],
             "alert_rule_test": [
                 {"eval_time": "12m", "alertname": alert, "exp_alerts": []},
                 {"eval_time": "20m", "alertname": alert, "exp_alerts": [{"exp_labels": fired}]},
             ]},
            {"interval": "1m", "input_series": [{"series": series, "values": "1x30"}],
             "alert_rule_test": [{"eval_time": "25m", "alertname": alert, "exp_alerts": []}]},
        ],
    )  # fmt: skip
