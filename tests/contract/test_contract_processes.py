"""Background processes as rendered, run for real: a Celery worker and beat from the example app,
the broker's own flags on Debian's redis-server 7.0, PostgreSQL, moto.

The one stand-in beyond the kubelet's: the broker URL names the in-cluster Service
(``shop-broker.<ns>.svc.cluster.local:6379``); the test checks exactly that and points it at the
local server, as the Service would."""

from __future__ import annotations

import signal
import time

import pytest
import redis

from .services import Valkey
from .test_contract_pod import applied_migrations, prepare

WORKER = ["celery", "-A", "project", "worker", "--loglevel", "INFO", "--concurrency", "2"]
BEAT = ["celery", "-A", "project", "beat", "--loglevel", "INFO"]
SERVICE = "shop-broker.shop.svc.cluster.local:6379"


def rows(postgres, rendered, name):
    with postgres.admin(rendered.args["database"]["database_name"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM shop_taskrun WHERE name = %s", (name,)
        ).fetchone()[0]


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


def probe(kubelet, container, kind):
    """Run a container's exec probe the way the kubelet does; True when it passes."""
    return (
        kubelet.run(
            {**container, "command": container[kind]["exec"]["command"], "args": []}, timeout=10
        ).returncode
        == 0
    )


@pytest.fixture
def celery_app(app, kubelet, tmp_path):
    """The app with a worker and beat, prepared, migrated, with its broker running."""
    brokers = []

    def make(migrate=True, **overrides):
        processes = [
            {"name": "worker", "command": WORKER, "heartbeat_file": str(tmp_path / "worker-heartbeat"),
             "ready_file": str(tmp_path / "worker-ready"), "heartbeat_max_age_seconds": 5,
             "termination_grace_seconds": 60},
            {"name": "beat", "command": BEAT, "singleton": True, "heartbeat_file": str(tmp_path / "beat-heartbeat"),
             "ready_file": str(tmp_path / "beat-ready")},
        ]  # fmt: skip
        rendered = app(broker={}, processes=processes, env={"SHOP_TICK_SECONDS": "1"}, **overrides)
        server = Valkey(
            rendered.broker_command(), rendered.broker_acl(), tmp_path / "broker"
        ).start()
        brokers.append(server)
        prepare(rendered, kubelet, rendered.process_pod("worker"))
        url_file = rendered.tmp / "secrets" / "broker-url"
        url = url_file.read_text()
        assert url.startswith("redis://:") and url.endswith(f"@{SERVICE}/0"), (
            "the URL names the broker Service"
        )
        url_file.chmod(0o600)
        url_file.write_text(url.replace(SERVICE, f"127.0.0.1:{server.port}"))
        if migrate:
            assert kubelet.run(rendered.container("migrate")).returncode == 0
        return rendered, server, redis.Redis.from_url(url_file.read_text())

    yield make
    for server in brokers:
        if server.process and server.process.poll() is None:
            server.process.kill()


def enqueue(kubelet, rendered, name, seconds=0):
    """What the web app does: queue a task from a django container's environment."""
    code = f"from shop.tasks import record; record.delay({name!r}, {seconds})"
    container = {
        **rendered.container("django"),
        "command": ["python", "manage.py", "shell", "-c", code],
        "args": [],
    }
    result = kubelet.run(container, timeout=60)
    assert result.returncode == 0, result.stderr


def test_worker_as_rendered_consumes_a_task_queued_by_the_app_and_writes_its_row(
    celery_app, kubelet, postgres
):
    rendered, _, _ = celery_app()
    worker = rendered.container("worker", rendered.process_pod("worker"))
    process = kubelet.start(worker)
    try:
        wait_until(lambda: probe(kubelet, worker, "readinessProbe"), 60, "worker ready")
        enqueue(kubelet, rendered, "from-web")
        wait_until(lambda: rows(postgres, rendered, "from-web") == 1, 60, "the task's row")
        assert probe(kubelet, worker, "livenessProbe"), "liveness passes while the worker runs"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert not probe(kubelet, worker, "readinessProbe"), "a stopped worker is not ready"
    time.sleep(6)  # heartbeat_max_age_seconds (5) + 1
    assert not probe(kubelet, worker, "livenessProbe"), "liveness fails once the heartbeat is stale"


def test_worker_cannot_pass_liveness_before_its_first_heartbeat(celery_app, kubelet):
    rendered, _, _ = celery_app()
    worker = rendered.container("worker", rendered.process_pod("worker"))
    assert not probe(kubelet, worker, "livenessProbe")
    assert not probe(kubelet, worker, "startupProbe")


def test_sigterm_during_a_task_is_a_warm_shutdown_the_task_finishes_and_the_worker_exits_0(
    celery_app, kubelet, postgres
):
    rendered, _, queue = celery_app()
    worker = rendered.container("worker", rendered.process_pod("worker"))
    process = kubelet.start(worker)
    wait_until(lambda: probe(kubelet, worker, "readinessProbe"), 60, "worker ready")
    enqueue(kubelet, rendered, "slow", seconds=4)
    # Taken: out of the queue and held unacknowledged (acks late) while it runs.
    wait_until(
        lambda: queue.llen("celery") == 0 and queue.hlen("unacked") == 1,
        30,
        "the worker took the task",
    )
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert rows(postgres, rendered, "slow") == 1, "the running task finished"
    assert time.monotonic() - signalled > 1, "the worker waited for the task"
    assert queue.hlen("unacked") == 0 and queue.llen("celery") == 0, "nothing left to redeliver"


def test_beat_as_rendered_sends_the_periodic_task_and_a_worker_runs_it(
    celery_app, kubelet, postgres
):
    rendered, _, queue = celery_app()
    beat = rendered.container("beat", rendered.process_pod("beat"))
    worker = rendered.container("worker", rendered.process_pod("worker"))
    processes = [kubelet.start(beat)]
    try:
        wait_until(lambda: probe(kubelet, beat, "readinessProbe"), 60, "beat ready")
        wait_until(lambda: queue.llen("celery") >= 1, 30, "beat queued the tick")
        assert probe(kubelet, beat, "livenessProbe")
        processes.append(kubelet.start(worker))
        wait_until(lambda: rows(postgres, rendered, "tick") >= 1, 60, "a tick's row")
    finally:
        for p in processes:
            p.send_signal(signal.SIGTERM)
            p.communicate(timeout=60)


def test_process_started_before_migrations_waits_and_starts_once_migrate_has_run(
    celery_app, kubelet, postgres
):
    rendered, _, _ = celery_app(migrate=False, migrations_wait_timeout_seconds=120)
    pod = rendered.process_pod("worker")
    assert [c["name"] for c in pod["initContainers"]][-1] == "wait-for-migrations"
    gate = kubelet.start(rendered.container("wait-for-migrations", pod))
    time.sleep(4)
    assert gate.poll() is None, "the worker's gate holds while migrations are unapplied"
    with postgres.admin(rendered.args["database"]["database_name"]) as conn:
        assert conn.execute("SELECT to_regclass('django_migrations')").fetchone()[0] is None
    assert kubelet.run(rendered.container("migrate")).returncode == 0
    gate.communicate(timeout=60)
    assert gate.returncode == 0
    assert ("shop", "0003_taskrun") in applied_migrations(
        postgres, rendered.args["database"]["database_name"]
    )


def test_broker_refuses_clients_without_the_password_and_evicts_nothing(celery_app):
    _, server, queue = celery_app(migrate=False)
    anonymous = redis.Redis(host="127.0.0.1", port=server.port)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
    assert queue.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert int(queue.config_get("maxmemory")["maxmemory"]) > 0


def test_broker_keeps_queued_tasks_across_a_restart(celery_app, kubelet, tmp_path):
    rendered, server, queue = celery_app(migrate=False)
    enqueue(kubelet, rendered, "queued")
    assert queue.llen("celery") == 1
    assert server.stop() == 0
    again = Valkey(rendered.broker_command(), rendered.broker_acl(), tmp_path / "broker")
    again.port = server.port
    again.argv[again.argv.index("--port") + 1] = str(server.port)
    again.start()
    try:
        assert (
            redis.Redis.from_url((rendered.tmp / "secrets" / "broker-url").read_text()).llen(
                "celery"
            )
            == 1
        )
    finally:
        again.stop()
