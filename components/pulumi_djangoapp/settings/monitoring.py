"""The arguments of metrics and alerts (``MonitoringArgs``): the scraper the NetworkPolicies
admit, the labels its Prometheus selects objects by, the app's metrics path and the alerts'
bounds. What they build is in ``builders/monitoring.py`` and ``builders/alerts.py``."""

from dataclasses import dataclass
from typing import Any, Mapping, NotRequired, Optional, TypedDict

from .checks import Problems, given_args, is_int

DEFAULT_APP_METRICS_PATH = "/metrics"

DEFAULT_BACKLOG_MESSAGES = 100

DEFAULT_BACKLOG_MINUTES = 15

DEFAULT_HEARTBEAT_STALE_MINUTES = 5

DEFAULT_RUNBOOK_BASE_URL = "docs/runbooks"

DEFAULT_BROKER_EXPORTER_IMAGE = "quay.io/oliver006/redis_exporter:v1.88.0"

DEFAULT_DATABASE_EXPORTER_IMAGE = "quay.io/prometheuscommunity/postgres-exporter:v0.20.1"


class ScraperArgs(TypedDict):
    """The Prometheus pods that scrape the app: its namespace and pod labels."""

    namespace: str
    """Namespace of the Prometheus pods. Required."""
    pod_labels: Mapping[str, str]
    """Labels of the Prometheus pods (``app.kubernetes.io/name: prometheus``). Required."""


class MonitoringArgs(TypedDict):
    """Prometheus Operator objects: scrape targets, exporters and alerts (README "Metrics and
    alerts"). Needs the Prometheus Operator and kube-state-metrics in the cluster."""

    scraper: ScraperArgs
    """Who may scrape: the NetworkPolicies admit these pods on the metrics ports only. Required."""
    labels: NotRequired[Mapping[str, str]]
    """Labels on the PodMonitors and the PrometheusRule, for the Prometheus' selectors
    (``release: kube-prometheus-stack``). Default: none."""
    app_metrics_path: NotRequired[str]
    """Path of the app's own metrics on its port (django-prometheus); ``""`` means the app serves
    none and gets no PodMonitor. Default: ``/metrics``."""
    backlog_messages: NotRequired[int]
    """Tasks waiting in the broker above which, for ``backlog_minutes``, the backlog alert fires.
    Default: ``100``."""
    backlog_minutes: NotRequired[int]
    """How long the backlog must stay above the bound. Default: ``15``."""
    heartbeat_stale_minutes: NotRequired[int]
    """A singleton process (beat) whose heartbeat is older than this fires an alert. Default:
    ``5``."""
    runbook_base_url: NotRequired[str]
    """Where the alerts' ``runbook_url`` annotations point (this repository's ``docs/runbooks``
    as published by you). Default: ``docs/runbooks``."""
    broker_exporter_image: NotRequired[str]
    """Pinned redis_exporter image for the in-cluster broker (also published to Docker Hub and
    ghcr.io: README of oliver006/redis_exporter). Default:
    ``quay.io/oliver006/redis_exporter:v1.88.0``."""
    database_exporter_image: NotRequired[str]
    """Pinned postgres_exporter image for the in-cluster database. Default:
    ``quay.io/prometheuscommunity/postgres-exporter:v0.20.1``."""


@dataclass(frozen=True)
class MonitoringSettings:
    scraper_namespace: str
    scraper_pod_labels: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]
    app_metrics_path: str
    backlog_messages: int
    backlog_minutes: int
    heartbeat_stale_minutes: int
    runbook_base_url: str
    broker_exporter_image: str
    database_exporter_image: str


def _labels(problems: Problems, field: str, value: Any, required: bool) -> tuple:
    if (
        not isinstance(value, Mapping)
        or (required and not value)
        or not all(isinstance(k, str) and k and isinstance(v, str) for k, v in value.items())
    ):
        problems.add(field, value, "must be a mapping of label names to string values" + (
            " (at least one)" if required else ""))  # fmt: skip
        return ()
    return tuple(sorted(value.items()))


def _count(problems: Problems, field: str, value: Any, low: int, high: int) -> int:
    if not is_int(value) or not low <= value <= high:
        problems.add(field, value, f"must be an integer from {low} to {high}")
        return low
    return value


def normalise(problems: Problems, raw: Any) -> Optional[MonitoringSettings]:
    from .checks import checked_image

    given = given_args(problems, raw, MonitoringArgs, "monitoring")
    if given is None:
        return None
    scraper = given_args(problems, given.get("scraper"), ScraperArgs, "monitoring.scraper")
    if scraper is None:
        problems.add(
            "monitoring.scraper", None,
            "is required: the namespace and pod labels of the Prometheus that scrapes the app",
        )  # fmt: skip
        scraper = {}
    namespace = scraper.get("namespace")
    if scraper and (not isinstance(namespace, str) or not namespace):
        problems.add("monitoring.scraper.namespace", namespace, "must be a namespace name")
    pod_labels = (
        _labels(problems, "monitoring.scraper.pod_labels", scraper.get("pod_labels"), True)
        if scraper
        else ()
    )
    path = given.get("app_metrics_path", DEFAULT_APP_METRICS_PATH)
    if not isinstance(path, str) or (path and not path.startswith("/")):
        problems.add("monitoring.app_metrics_path", path, "must be a path such as /metrics, or ''")
        path = DEFAULT_APP_METRICS_PATH
    base = given.get("runbook_base_url", DEFAULT_RUNBOOK_BASE_URL)
    if not isinstance(base, str) or not base or base.endswith("/"):
        problems.add(
            "monitoring.runbook_base_url", base, "must be a URL or path without a trailing /"
        )
        base = DEFAULT_RUNBOOK_BASE_URL
    return MonitoringSettings(
        scraper_namespace=namespace if isinstance(namespace, str) else "",
        scraper_pod_labels=pod_labels,
        labels=_labels(problems, "monitoring.labels", given.get("labels", {}), False),
        app_metrics_path=path,
        backlog_messages=_count(
            problems, "monitoring.backlog_messages",
            given.get("backlog_messages", DEFAULT_BACKLOG_MESSAGES), 1, 10**9,
        ),
        backlog_minutes=_count(
            problems, "monitoring.backlog_minutes",
            given.get("backlog_minutes", DEFAULT_BACKLOG_MINUTES), 1, 1440,
        ),
        heartbeat_stale_minutes=_count(
            problems, "monitoring.heartbeat_stale_minutes",
            given.get("heartbeat_stale_minutes", DEFAULT_HEARTBEAT_STALE_MINUTES), 1, 1440,
        ),
        runbook_base_url=base,
        broker_exporter_image=checked_image(
            problems, "monitoring.broker_exporter_image",
            given.get("broker_exporter_image", DEFAULT_BROKER_EXPORTER_IMAGE),
        ),
        database_exporter_image=checked_image(
            problems, "monitoring.database_exporter_image",
            given.get("database_exporter_image", DEFAULT_DATABASE_EXPORTER_IMAGE),
        ),
    )  # fmt: skip
