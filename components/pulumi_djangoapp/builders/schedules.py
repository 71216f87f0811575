"""Scheduled management commands: a CronJob each, with the app pod's plumbing.

Each run's pod has the web pod's preparation (native sidecars, fetch steps, wait-for-db) and
then waits for migrations (a bounded ``migrate --check`` loop) instead of running them; its one
container is the command. Defaults that keep a schedule from piling up or hiding failures:
``concurrencyPolicy: Forbid``, a ``startingDeadlineSeconds`` (a late run is skipped, not started
hours late; the controller stops and warns after more than 100 missed schedules without one),
history limits, ``ttlSecondsAfterFinished``, ``backoffLimit``, ``activeDeadlineSeconds`` and a
``podFailurePolicy`` that does not count node drains against the retries.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ..settings.app import Settings
from ..settings.schedules import ScheduleSettings
from . import fetch
from .app import CONFIG_HASH_ANNOTATION, command_pod_spec
from .fetch import AwsRefs
from .labels import SCHEDULE, labels

STARTING_DEADLINE_SECONDS = 300

HISTORY = 3

TTL_AFTER_FINISHED_SECONDS = 86400

BACKOFF_LIMIT = 2


def cron_job(
    schedule: ScheduleSettings,
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    pod_metadata: Mapping[str, Any],
    pod_spec: Mapping[str, Any],
) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "schedule": schedule.schedule,
            "timeZone": schedule.time_zone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
            "suspend": schedule.suspend,
            "successfulJobsHistoryLimit": HISTORY,
            "failedJobsHistoryLimit": HISTORY,
            "jobTemplate": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "backoffLimit": BACKOFF_LIMIT,
                    "activeDeadlineSeconds": schedule.deadline_seconds,
                    "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_SECONDS,
                    # A node drain or preemption is not the command's failure.
                    "podFailurePolicy": {
                        "rules": [
                            {
                                "action": "Ignore",
                                "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
                            }
                        ]
                    },
                    "template": {
                        "metadata": dict(pod_metadata),
                        "spec": {**pod_spec, "restartPolicy": "Never"},
                    },
                },
            },
        },
    }


def schedule_pod_spec(s: Settings, schedule, refs: Optional[AwsRefs] = None) -> dict:
    """A scheduled run: waits for migrations unless they are ``none``."""
    return command_pod_spec(
        s, schedule.name, schedule.command, schedule.resources, refs, s.migrations.mode != "none"
    )


def schedule_cron_jobs(s: Settings, refs: Optional[AwsRefs] = None) -> list[tuple[str, dict]]:
    jobs = []
    for schedule in s.schedules:
        spec = schedule_pod_spec(s, schedule, refs)
        pod_metadata = {
            "labels": labels(s.name, SCHEDULE),
            "annotations": {
                CONFIG_HASH_ANNOTATION: s.config_hash,
                **fetch.credential_annotations(s, spec),
            },
        }
        name = f"{s.name}-{schedule.name}"
        jobs.append(
            (
                f"schedule-{schedule.name}",
                cron_job(schedule, name, s.namespace, labels(s.name, SCHEDULE), pod_metadata, spec),
            )
        )
    return jobs
