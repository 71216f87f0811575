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


# --- the database's monitor role, made by its Job on PostgreSQL -----------------------------


@pytest.fixture
def monitor_role(app, kubelet, postgres, tmp_path):
    """The rendered monitor-role Job run on the local server as the app's role, a superuser as
    in the official image (initdb --username=$POSTGRES_USER); the role dropped afterwards."""
    from psycopg import sql

    from .test_contract_backups import local

    rendered = app(database={}, monitoring={"scraper": SCRAPER})
    db = "shop"
    with postgres.admin() as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db,)).fetchone():
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(db), sql.Literal(rendered.password)
                )
            )
        conn.execute(sql.SQL("ALTER ROLE {} SUPERUSER").format(sql.Identifier(db)))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(db))
        )
    with postgres.admin(db) as conn:
        conn.execute("CREATE TABLE customer (id int PRIMARY KEY, email text)")
        conn.execute("ALTER TABLE customer OWNER TO shop")
        conn.execute("INSERT INTO customer VALUES (1, 'a@example.com')")
    passwords = tmp_path / "pg-secrets"
    passwords.mkdir()
    kubelet.paths["/run/secrets/postgres"] = passwords
    (passwords / "password").write_text(rendered.password)
    (passwords / monitoring.MONITOR_VERIFIER_KEY).write_text(
        rendered.credentials(monitoring.MONITOR_VERIFIER_KEY)
    )
    (job,) = [j for j in rendered.run.of_type(":Job") if j.name == "shop-monitor-role"]
    (step,) = job.inputs["spec"]["template"]["spec"]["containers"]
    try:
        result = kubelet.run(local(step, postgres))
        assert result.returncode == 0, result.stderr
        yield rendered, step
    finally:
        with postgres.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
            )
            conn.execute("DROP ROLE IF EXISTS shop_monitor")
            conn.execute(sql.SQL("ALTER ROLE {} NOSUPERUSER").format(sql.Identifier(db)))


def monitor_connection(postgres, rendered, dbname="postgres"):
    import psycopg

    return psycopg.connect(
        host="127.0.0.1", port=postgres.port, user="shop_monitor", dbname=dbname, autocommit=True,
        password=rendered.credentials(monitoring.MONITOR_PASSWORD_KEY),
    )  # fmt: skip


def test_the_monitor_role_reads_what_the_exporters_default_collectors_read(monitor_role, postgres):
    rendered, _ = monitor_role
    with monitor_connection(postgres, rendered) as conn:
        # As postgres_exporter's collectors ask (collector/pg_database.go, pg_stat_database.go,
        # pg_locks.go, pg_stat_bgwriter.go, pg_stat_activity, pg_settings).
        sizes = dict(
            conn.execute("SELECT datname, pg_database_size(datname) FROM pg_database").fetchall()
        )
        assert sizes["shop"] > 0, "every database's size, the app's too"
        assert conn.execute("SELECT count(*) FROM pg_stat_database").fetchone()[0] >= 1
        conn.execute("SELECT mode, count(*) FROM pg_locks GROUP BY mode").fetchall()
        conn.execute("SELECT * FROM pg_stat_bgwriter").fetchone()
        conn.execute("SELECT state, count(*) FROM pg_stat_activity GROUP BY state").fetchall()
        assert conn.execute(
            "SELECT setting FROM pg_settings WHERE name = 'max_connections'"
        ).fetchone()


def test_the_monitor_role_cannot_read_a_row_of_the_app_nor_write(monitor_role, postgres):
    import psycopg

    rendered, step = monitor_role
    with monitor_connection(postgres, rendered, "shop") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM customer")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO customer VALUES (2, 'b@example.com')")
    with monitor_connection(postgres, rendered) as conn:
        role = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, pg_has_role(current_user, 'pg_monitor', 'member') "
            "FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert role == (False, False, False, True)
    password = rendered.credentials(monitoring.MONITOR_PASSWORD_KEY)
    assert password not in step["command"][-1] and "PASSWORD :'verifier'" in step["command"][-1]
