"""Workers scaled on their queue, the parts that run outside KEDA run for real: the example app
queues Celery tasks (some with a priority) into the broker started with its rendered flags and
ACL file (Debian's redis-server 7.0); then, as the rendered scaler user, KEDA's own read script
(taken from KEDA's redis scaler source, ``tests/upstream.py``) reads each list the rendered
ScaledObject names. The lengths it reads are the tasks waiting; the user can do nothing else."""

from __future__ import annotations

import math

import pytest
import redis
import upstream

from pulumi_djangoapp.builders import queue_autoscaling

from .services import Valkey
from .test_contract_pod import prepare

SERVICE = "shop-broker.shop.svc.cluster.local:6379"


@pytest.fixture
def queued(app, kubelet, tmp_path):
    """The app with a worker scaled on its queue; its broker running; no worker started."""
    processes = [
        {"name": "worker", "command": ["celery", "-A", "project", "worker"],
         "queue_autoscaling": {"max_replicas": 10, "messages_per_replica": 2}},
    ]  # fmt: skip
    rendered = app(broker={}, processes=processes)
    acl = rendered.broker_acl()
    server = Valkey(rendered.broker_command(), acl, tmp_path / "broker").start()
    try:
        prepare(rendered, kubelet, rendered.process_pod("worker"))
        url_file = rendered.tmp / "secrets" / "broker-url"
        url_file.chmod(0o600)
        url_file.write_text(url_file.read_text().replace(SERVICE, f"127.0.0.1:{server.port}"))
        yield rendered, server
    finally:
        server.process.kill()


def send(kubelet, rendered, count, priority=None):
    """What the web app does: queue tasks from a django container's environment."""
    options = "" if priority is None else f", priority={priority}"
    code = (
        "from shop.tasks import record\n"
        f"for i in range({count}): record.apply_async(('queued', 0){options})"
    )
    container = {
        **rendered.container("django"),
        "command": ["python", "manage.py", "shell", "-c", code],
        "args": [],
    }
    result = kubelet.run(container, timeout=60)
    assert result.returncode == 0, result.stderr


def scaler(rendered, server):
    """A client as KEDA's: the user and password the TriggerAuthentication names."""
    return redis.Redis(
        host="127.0.0.1",
        port=server.port,
        username=rendered.credentials(queue_autoscaling.USERNAME_KEY),
        password=rendered.credentials(queue_autoscaling.PASSWORD_KEY),
    )


def triggers(rendered):
    (scaled,) = rendered.run.of_type(":ScaledObject")
    return scaled.inputs["spec"]["triggers"]


def test_kedas_read_script_as_the_scaler_user_counts_every_waiting_task_across_priorities(
    queued, kubelet
):
    rendered, server = queued
    send(kubelet, rendered, 3)
    send(kubelet, rendered, 2, priority=9)
    send(kubelet, rendered, 1, priority=4)
    client, script = scaler(rendered, server), upstream.keda_redis_script()
    lengths = {
        t["name"]: client.eval(script, 1, t["metadata"]["listName"]) for t in triggers(rendered)
    }
    # kombu files priority 4 under step 3 and 9 under 9 (priority_steps [0, 3, 6, 9]).
    assert lengths == {
        "celery": 3, "celery-priority-3": 1, "celery-priority-6": 0, "celery-priority-9": 2,
    }  # fmt: skip
    # KEDA asks for ceil(length / listLength) per trigger and takes the largest.
    per_replica = int(triggers(rendered)[0]["metadata"]["listLength"])
    assert max(math.ceil(n / per_replica) for n in lengths.values()) == 2


def test_a_scaler_without_the_priority_lists_would_miss_prioritised_tasks(queued, kubelet):
    """Fidelity: the lists are kombu's, not a name the component made up; with only the queue's
    own list watched, tasks sent with a priority are invisible."""
    rendered, server = queued
    send(kubelet, rendered, 2, priority=9)
    client, script = scaler(rendered, server), upstream.keda_redis_script()
    assert client.eval(script, 1, "celery") == 0
    assert client.eval(script, 1, "celery\x06\x169") == 2


def test_the_scaler_user_cannot_read_write_or_delete_a_message(queued, kubelet):
    rendered, server = queued
    send(kubelet, rendered, 1)
    client = scaler(rendered, server)
    for command in (
        ("LRANGE", "celery", 0, -1),
        ("LPUSH", "celery", "forged"),
        ("DEL", "celery"),
        ("FLUSHALL",),
        ("ACL", "LIST"),
        ("CONFIG", "GET", "*"),
        # @connection would have granted these: the app's connections, listed or cut.
        ("CLIENT", "LIST"),
        ("CLIENT", "KILL", "TYPE", "normal"),
    ):
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.execute_command(*command)
    # A script may call only what the user may: each call inside it is checked too.
    with pytest.raises(redis.exceptions.ResponseError, match="can't run this command"):
        client.eval("return redis.call('del', KEYS[1])", 1, "celery")
    assert client.eval(upstream.keda_redis_script(), 1, "celery") == 1, "the task is still there"


def test_the_scaler_password_cannot_be_found_in_any_spec_the_component_registers(queued):
    rendered, _ = queued
    password = rendered.credentials(queue_autoscaling.PASSWORD_KEY)
    for registration in rendered.run.registrations:
        if registration.type.endswith(":Secret"):
            continue
        assert password not in str(registration.inputs), registration.name
