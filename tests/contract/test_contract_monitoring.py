"""Metrics as rendered, run for real: the heartbeat exporter sidecar (the app image's Python with
its inline script) serving a running beat's heartbeat, and the broker exporter's ACL user on the
broker started with its rendered flags and ACL file (Debian's redis-server 7.0).

The redis_exporter binary itself is not served by the Go module proxy here, so it does not run:
what it sends is taken from its source (exporter/*.go of oliver006/redis_exporter) and sent as
its user; its flags and password file format are in ``builders/monitoring.py``."""

from __future__ import annotations

import json
import os
import time
import urllib.request

import pytest
import redis

from pulumi_djangoapp.builders import monitoring

from .services import Valkey, free_port

SCRAPER = {"namespace": "monitoring", "pod_labels": {"app.kubernetes.io/name": "prometheus"}}


def scrape(port: int) -> str:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def monitored(app, tmp_path):
    processes = [
        {"name": "beat", "command": ["celery", "-A", "project", "beat"], "singleton": True,
         "heartbeat_file": "/tmp/beat-heartbeat"},
    ]  # fmt: skip
    return app(broker={}, processes=processes, monitoring={"scraper": SCRAPER})


def test_the_heartbeat_exporter_serves_the_files_age_and_no_sample_before_the_first_beat(
    monitored, kubelet, tmp_path
):
    pod = monitored.process_pod("beat")
    sidecar = pod["initContainers"][0]
    assert sidecar["name"] == "heartbeat-exporter" and sidecar["restartPolicy"] == "Always"
    pod_tmp = tmp_path / "pod-tmp"
    pod_tmp.mkdir()
    kubelet.paths["/tmp"] = pod_tmp
    port = free_port()
    env = [{**e, "value": str(port)} if e["name"] == "METRICS_PORT" else e for e in sidecar["env"]]
    process = kubelet.start({**sidecar, "env": env})
    try:
        before = scrape(port)
        assert "# TYPE djangoapp_process_heartbeat_timestamp_seconds gauge" in before
        assert "djangoapp_process_heartbeat_timestamp_seconds{" not in before, "no beat yet"
        beat = pod_tmp / "beat-heartbeat"
        beat.touch()
        os.utime(beat, (1_800_000_000, 1_800_000_000))
        assert (
            'djangoapp_process_heartbeat_timestamp_seconds{process="beat"} 1800000000.000'
            in scrape(port)
        )
    finally:
        process.kill()
        process.communicate(timeout=10)


@pytest.fixture
def broker_with_exporter(monitored, tmp_path):
    server = Valkey(monitored.broker_command(), monitored.broker_acl(), tmp_path / "broker").start()
    try:
        yield monitored, server
    finally:
        server.process.kill()


def exporter_client(rendered, server):
    (password,) = json.loads(rendered.credentials(monitoring.EXPORTER_PASSWORDS_KEY)).values()
    return redis.Redis(
        host="127.0.0.1", port=server.port, username=monitoring.EXPORTER_USERNAME, password=password
    )


def test_the_exporter_user_can_read_server_and_list_metrics_as_the_exporter_asks(
    broker_with_exporter,
):
    rendered, server = broker_with_exporter
    redis.Redis(host="127.0.0.1", port=server.port, password=_app_password(rendered)).rpush(
        "celery", "task-1", "task-2"
    )
    client = exporter_client(rendered, server)
    assert "redis_version" in client.execute_command("INFO", "ALL")
    assert client.execute_command("PING")
    assert client.execute_command("SELECT", 0)
    assert client.execute_command("TYPE", "celery") == b"list"
    assert client.execute_command("LLEN", "celery") == 2
    assert client.execute_command("SCAN", 0)[0] is not None
    assert client.execute_command("SLOWLOG", "LEN") >= 0
    client.execute_command("LATENCY", "LATEST")
    client.execute_command("CLIENT", "SETNAME", "redis_exporter")


def test_the_exporter_user_cannot_read_a_task_write_or_see_the_configuration(
    broker_with_exporter,
):
    rendered, server = broker_with_exporter
    client = exporter_client(rendered, server)
    for command in (
        ("LRANGE", "celery", 0, -1),
        ("GET", "anything"),
        ("LPUSH", "celery", "forged"),
        ("DEL", "celery"),
        ("CONFIG", "GET", "*"),
        ("SLOWLOG", "GET"),
        ("CLIENT", "LIST"),
        ("CLIENT", "KILL", "TYPE", "normal"),
        ("ACL", "LIST"),
    ):
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.execute_command(*command)


def test_the_exporters_password_file_names_the_address_it_scrapes(monitored):
    passwords = json.loads(monitored.credentials(monitoring.EXPORTER_PASSWORDS_KEY))
    (exporter,) = [
        r for r in monitored.run.of_type(":Deployment") if r.name == "shop-broker-exporter"
    ]
    env = {
        e["name"]: e["value"]
        for e in exporter.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert list(passwords) == [env["REDIS_ADDR"]]
    assert env["REDIS_PASSWORD_FILE"].endswith(monitoring.EXPORTER_PASSWORDS_KEY)


def _app_password(rendered) -> str:
    line = rendered.broker_acl().splitlines()[0]
    assert line.startswith("user default on >")
    return line.split()[3][1:]
