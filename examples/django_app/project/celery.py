"""The shop's Celery app, and the files DjangoApp's process probes read.

DjangoApp gives every process two paths: ``HEARTBEAT_FILE`` (touched while it works; liveness
fails once it is older than the process's ``heartbeat_max_age_seconds``) and ``READY_FILE``
(present while it can take work; startup and readiness). Both live on the pod's in-memory
``/tmp``, which outlives a container restart: every start removes what a crashed run left.
"""

import os
from pathlib import Path

from celery import Celery, signals
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT = Path(os.environ.get("HEARTBEAT_FILE", "/tmp/heartbeat"))
READY = Path(os.environ.get("READY_FILE", "/tmp/ready"))


def _touch(path: Path) -> None:
    path.touch()
    os.utime(path)


def _forget(**_) -> None:
    READY.unlink(missing_ok=True)
    HEARTBEAT.unlink(missing_ok=True)


def _ready(**_) -> None:
    _touch(HEARTBEAT)
    _touch(READY)


# Connected at import, before the worker builds its heartbeat timer: Celery only sends
# heartbeat_sent when the signal has receivers then (celery/worker/heartbeat.py).
signals.worker_init.connect(_forget, weak=False)
signals.worker_ready.connect(_ready, weak=False)
signals.heartbeat_sent.connect(lambda **_: _touch(HEARTBEAT), weak=False)
signals.worker_shutdown.connect(lambda **_: READY.unlink(missing_ok=True), weak=False)
signals.beat_init.connect(lambda **_: (_forget(), _ready()), weak=False)


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler, touching the heartbeat on every tick (at most beat_max_loop_interval
    apart): beat sends no heartbeat signal of its own."""

    def tick(self, *args, **kwargs):
        _touch(HEARTBEAT)
        return super().tick(*args, **kwargs)
