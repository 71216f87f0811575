"""Alerts: one PrometheusRule ``<app>-alerts`` with what silently stops in this app.

Series and where they come from (the README names them too; kube-state-metrics and the
Prometheus Operator are prerequisites, not installed by the component):

- ``djangoapp_process_heartbeat_timestamp_seconds{process}`` — the heartbeat exporter sidecar
  of each process (``builders/monitoring.py``);
- ``redis_key_size{key}``, ``redis_up`` — the broker exporter, one series per Celery list;
- ``pg_up`` — the database exporter;
- ``kube_cronjob_status_last_successful_time``, ``kube_cronjob_created``,
  ``kube_job_failed`` (a Job's Failed condition, not a retried pod),
  ``kube_pod_container_status_waiting_reason``,
  ``kube_pod_container_status_restarts_total`` — kube-state-metrics.

Each alert carries ``runbook_url`` (``runbook_base_url`` + a file of ``docs/runbooks``) and the
labels ``namespace`` and ``djangoapp`` (the app), so one rule file serves every app of a cluster.
"""

from __future__ import annotations

from typing import Optional

from ..settings.app import Settings
from . import backups, monitoring, restore_drill
from .labels import WEB, labels

# A day and a half: last night's run, with room for a late or slow one.
STALE_SECONDS = 36 * 3600


def _alert(
    s: Settings, name: str, expr: str, minutes: int, severity: str, summary: str, runbook: str
) -> dict:
    m = s.monitoring
    assert m is not None
    rule: dict = {"alert": name, "expr": expr}
    if minutes:
        rule["for"] = f"{minutes}m"
    rule["labels"] = {"severity": severity, "namespace": s.namespace, "djangoapp": s.name}
    rule["annotations"] = {"summary": summary, "runbook_url": f"{m.runbook_base_url}/{runbook}"}
    return rule


def _stale(selector: str) -> str:
    """Never succeeded for longer than STALE_SECONDS since its creation, or last succeeded
    longer ago than that."""
    return (
        f"(time() - kube_cronjob_status_last_successful_time{{{selector}}} > {STALE_SECONDS})"
        f" or (time() - kube_cronjob_created{{{selector}}} > {STALE_SECONDS}"
        f" unless kube_cronjob_status_last_successful_time{{{selector}}})"
    )


def rules(s: Settings) -> list[dict]:
    m = s.monitoring
    assert m is not None
    ns, app = s.namespace, s.name
    result = []
    for process in s.processes:
        if process.singleton and monitoring.heartbeat_exported(process):
            series = f'{monitoring.HEARTBEAT_METRIC}{{namespace="{ns}", process="{process.name}"}}'
            result.append(
                _alert(
                    s, "DjangoAppHeartbeatStale",
                    f"(time() - max({series}) > {m.heartbeat_stale_minutes * 60}) or absent({series})",
                    2, "critical",
                    f"{app}'s {process.name} has not ticked for {m.heartbeat_stale_minutes} minutes: "
                    "periodic tasks are not being sent",
                    "alerts.md#heartbeat-stale",
                )
            )  # fmt: skip
    if monitoring.database_exported(s):
        job = f"{ns}/{monitoring.database_exporter_name(app)}"
        result.append(
            _alert(
                s, "DjangoAppDatabaseDown", f'pg_up{{job="{job}"}} == 0', 5, "critical",
                f"{app}'s in-cluster PostgreSQL does not answer its exporter",
                "alerts.md#server-down",
            )
        )  # fmt: skip
    if monitoring.exported(s):
        job = f"{ns}/{monitoring.exporter_name(app)}"
        result.append(
            _alert(
                s, "DjangoAppBrokerDown", f'redis_up{{job="{job}"}} == 0', 5, "critical",
                f"{app}'s in-cluster broker does not answer its exporter: no task is queued or run",
                "alerts.md#server-down",
            )
        )  # fmt: skip
        result.append(
            _alert(
                s, "DjangoAppQueueBacklog",
                f'sum(redis_key_size{{job="{job}"}}) > {m.backlog_messages}',
                m.backlog_minutes, "warning",
                f"More than {m.backlog_messages} tasks have waited in {app}'s broker for "
                f"{m.backlog_minutes} minutes",
                "alerts.md#queue-backlog",
            )
        )  # fmt: skip
    if s.backups:
        selector = f'namespace="{ns}", cronjob="{backups.name(app)}"'
        result.append(
            _alert(
                s, "DjangoAppBackupStale", _stale(selector), 0, "critical",
                f"{app}'s database has no backup younger than a day and a half",
                "restore.md",
            )
        )  # fmt: skip
        if s.backups.restore_drill:
            drill = restore_drill.name(app)
            selector = f'namespace="{ns}", cronjob="{drill}"'
            result += [
                _alert(
                    s, "DjangoAppRestoreDrillStale", _stale(selector), 0, "critical",
                    f"No restore drill of {app} has passed for a day and a half: the backups are not known to restore",
                    "restore-drill.md",
                ),
                _alert(
                    s, "DjangoAppRestoreDrillFailed",
                    f'max(kube_job_failed{{namespace="{ns}", job_name=~"{drill}-.*", condition="true"}}) > 0',
                    0, "warning",
                    f"A restore drill of {app} failed: read its logs",
                    "restore-drill.md",
                ),
            ]  # fmt: skip
    result.append(
        _alert(
            s, "DjangoAppMigrationFailed",
            f'max(kube_job_failed{{namespace="{ns}", job_name=~"{app}-(migrate|release)-.*", condition="true"}}) > 0',
            0, "critical",
            f"{app}'s migration Job or rollback gate failed: the release is stopped",
            "failed-migration-job.md",
        )
    )  # fmt: skip
    result.append(
        _alert(
            s, "DjangoAppCrashLooping",
            f'max by (pod, container) (kube_pod_container_status_waiting_reason{{namespace="{ns}", pod=~"{app}-.*", reason="CrashLoopBackOff"}}) > 0'
            f' or max by (pod, container) (increase(kube_pod_container_status_restarts_total{{namespace="{ns}", pod=~"{app}-.*"}}[15m])) > 3',
            10, "warning",
            "A container of " + app + " keeps restarting",
            "alerts.md#crash-looping",
        )
    )  # fmt: skip
    return result


def prometheus_rule(s: Settings) -> Optional[dict]:
    m = s.monitoring
    if m is None:
        return None
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"{s.name}-alerts",
            "namespace": s.namespace,
            "labels": {**labels(s.name, WEB), **dict(m.labels)},
        },
        "spec": {"groups": [{"name": f"djangoapp-{s.namespace}-{s.name}", "rules": rules(s)}]},
    }
