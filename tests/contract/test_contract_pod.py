"""The exact commands of the rendered pod, run for real against PostgreSQL, moto and Django."""

from __future__ import annotations

import contextlib
import json
import socket
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

from pulumi_djangoapp.builders import fetch

from .services import free_port

REPORT = Path(__file__).resolve().parents[2] / "build" / "contract-report.json"
CONCURRENT_MIGRATIONS = 8


def prepare(app, kubelet, pod=None):
    """fetch-config, fetch-secrets and wait-for-db, in pod order; each must succeed."""
    for name in ("fetch-config", "fetch-secrets", "wait-for-db"):
        result = kubelet.run(app.container(name, pod))
        assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"


def applied_migrations(postgres, db_name):
    with postgres.admin(db_name) as conn:
        return conn.execute("SELECT app, name FROM django_migrations ORDER BY id").fetchall()


def test_fetch_config_lands_the_files_in_the_config_dir(app, kubelet):
    rendered = app()
    result = kubelet.run(rendered.container("fetch-config"))
    assert result.returncode == 0, result.stderr
    assert (rendered.tmp / "config" / "app.toml").read_text() == rendered.args["config_files"][
        "app.toml"
    ]


def test_fetch_config_is_idempotent_and_removes_files_gone_from_the_bucket(app, kubelet):
    rendered = app()
    stale = rendered.tmp / "config" / "stale.toml"
    stale.write_text("old = true\n")
    for _ in range(2):
        assert kubelet.run(rendered.container("fetch-config")).returncode == 0
    assert not stale.exists()
    assert sorted(p.name for p in (rendered.tmp / "config").iterdir()) == ["app.toml"]


def test_fetch_secrets_writes_each_secret_to_its_own_0400_file(app, kubelet):
    rendered = app()
    for _ in range(2):  # a retried init container must succeed over its own files
        result = kubelet.run(rendered.container("fetch-secrets"))
        assert result.returncode == 0, result.stderr
    secrets = rendered.tmp / "secrets"
    assert sorted(p.name for p in secrets.iterdir()) == [
        "database-url",
        "database.json",
        "secret-key",
    ]
    for path in secrets.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o400, path.name
    url = (secrets / "database-url").read_text()
    assert (
        url
        == f"postgres://{rendered.args['database']['username']}:{rendered.password}@127.0.0.1:{rendered.args['database']['port']}/{rendered.args['database']['database_name']}"
    )
    assert json.loads((secrets / "database.json").read_text())["password"] == rendered.password


def test_fetch_steps_authenticate_only_through_the_web_identity_token(app, kubelet):
    rendered = app()
    container = rendered.container("fetch-secrets")
    env = kubelet.environment(container)
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["AWS_ROLE_ARN"].startswith("arn:aws:iam::")
    assert Path(env["AWS_WEB_IDENTITY_TOKEN_FILE"]).is_file()
    assert kubelet.run(container).returncode == 0


def test_fetch_steps_cannot_read_secrets_without_the_token(app, kubelet):
    rendered = app()
    (kubelet.paths[fetch.TOKEN_DIR] / "token").unlink()
    result = kubelet.run(rendered.container("fetch-secrets"))
    assert result.returncode != 0
    assert not (rendered.tmp / "secrets" / "database-url").exists()


def test_wait_for_db_succeeds_when_the_database_is_up(app, kubelet):
    rendered = app()
    result = kubelet.run(rendered.container("wait-for-db"))
    assert result.returncode == 0, result.stderr
    assert "accepts connections" in result.stdout


def test_wait_for_db_fails_with_a_clear_message_within_its_timeout(app, kubelet, tmp_path):
    rendered = app(db_wait_timeout_seconds=3)
    container = rendered.container("wait-for-db")
    closed = free_port()
    for item in container["env"]:
        if item["name"] == "DB_PORT":
            item["value"] = str(closed)  # the same command, aimed at a port nothing listens on
    result, elapsed = kubelet.timed(container, timeout=30)
    assert result.returncode == 1
    assert f"PostgreSQL at 127.0.0.1:{closed} did not accept connections within 3s" in result.stderr
    assert elapsed < 3 + 2 + 2 + 2  # timeout + one pg_isready attempt + one sleep + slack


def test_concurrent_migrate_steps_apply_each_migration_exactly_once(app, kubelet, postgres):
    rendered = app()
    prepare(rendered, kubelet)
    migrate = rendered.container("migrate")
    started = time.monotonic()
    processes = [kubelet.start(migrate) for _ in range(CONCURRENT_MIGRATIONS)]
    outputs = [p.communicate(timeout=180) for p in processes]
    wall = time.monotonic() - started

    codes = [p.returncode for p in processes]
    assert codes == [0] * CONCURRENT_MIGRATIONS, outputs
    rows = applied_migrations(postgres, rendered.args["database"]["database_name"])
    assert len(rows) == len(set(rows)), "a migration was recorded twice"
    assert ("shop", "0001_initial") in rows and ("shop", "0002_product_sku") in rows
    stdout = "".join(out for out, _ in outputs)
    # Exactly one process applied anything; every "Applying" line appears once.
    applying = [line for line in stdout.splitlines() if line.strip().startswith("Applying ")]
    assert len(applying) == len(rows) == len(set(applying))
    assert stdout.count("No migrations to apply.") == CONCURRENT_MIGRATIONS - 1
    with postgres.admin(rendered.args["database"]["database_name"]) as conn:
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'shop_product'"
        )}  # fmt: skip
    assert {"id", "name", "price_cents", "sku"} <= columns

    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps({
        "concurrent_migrate_steps": CONCURRENT_MIGRATIONS,
        "exit_codes": codes,
        "migrations_recorded": len(rows),
        "distinct_migrations": len(set(rows)),
        "processes_that_applied": sum(1 for out, _ in outputs if "Applying " in out),
        "wall_seconds": round(wall, 2),
    }, indent=2))  # fmt: skip

    again = kubelet.run(migrate)
    assert again.returncode == 0 and "No migrations to apply." in again.stdout
    assert applied_migrations(postgres, rendered.args["database"]["database_name"]) == rows


def test_migrate_waits_for_the_lock_and_gives_up_with_a_message(app, kubelet, postgres):
    rendered = app(migration_lock_timeout_seconds=2)
    prepare(rendered, kubelet)
    key = int(
        next(
            e["value"]
            for e in rendered.container("migrate")["env"]
            if e["name"] == "MIGRATION_LOCK_KEY"
        )
    )
    with postgres.admin(rendered.args["database"]["database_name"]) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [key])
        result = kubelet.run(rendered.container("migrate"), timeout=60)
    assert result.returncode == 1
    assert "another pod holds migration lock" in result.stdout
    assert "gave up after 2s" in result.stderr
    assert applied_migrations_or_none(postgres, rendered.args["database"]["database_name"]) is None


def applied_migrations_or_none(postgres, db_name):
    try:
        return applied_migrations(postgres, db_name)
    except psycopg.errors.UndefinedTable:
        return None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to look at, not to follow


_opener = urllib.request.build_opener(NoRedirect)


def get(url, host, timeout=30.0, headers=None):
    """Status and body of a GET, retried while the server is still starting."""
    request = urllib.request.Request(url, headers={"Host": host, **(headers or {})})
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _opener.open(request, timeout=2) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except OSError:
            if time.monotonic() >= deadline:
                return None, b""
            time.sleep(0.3)


def test_gunicorn_with_the_django_command_answers_healthz(app, kubelet):
    rendered = app()
    prepare(rendered, kubelet)
    assert kubelet.run(rendered.container("migrate")).returncode == 0
    django = rendered.container("django")
    server = kubelet.start(django)
    try:
        probe = django["readinessProbe"]["httpGet"]
        host = probe["httpHeaders"][0]["value"]
        status, body = get(f"http://127.0.0.1:{rendered.args['port']}{probe['path']}", host)
        assert status == 200, server.stderr.read() if server.poll() is not None else "no answer"
        assert json.loads(body) == {"status": "ok"}
        # Config from the bucket reached settings; the database answered through the URL file.
        status, body = get(f"http://127.0.0.1:{rendered.args['port']}/products", host, timeout=5)
        assert json.loads(body) == {"products": [], "features": {"new_checkout": True}}
    finally:
        server.terminate()
        server.wait(timeout=30)


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@contextlib.contextmanager
def serving(rendered, kubelet):
    """The rendered django container started as the kubelet would; yields ``status(address,
    timeout)`` of the probe path on that address (the kubelet probes the pod IP's family)."""
    django = rendered.container("django")
    probe = django["readinessProbe"]["httpGet"]
    server = kubelet.start(django)

    def status(address, timeout=30.0):
        code, _ = get(
            f"http://{address}:{rendered.args['port']}{probe['path']}",
            probe["httpHeaders"][0]["value"],
            timeout,
        )
        if code is None and server.poll() is not None:
            pytest.fail(f"gunicorn exited: {server.stderr.read()}")
        return code

    try:
        yield status
    finally:
        server.terminate()
        server.wait(timeout=30)


def migrated(app, kubelet, **args):
    rendered = app(**args)
    prepare(rendered, kubelet)
    assert kubelet.run(rendered.container("migrate")).returncode == 0
    return rendered


def test_gunicorn_of_an_ipv4_cluster_answers_on_ipv4_only(app, kubelet):
    with serving(migrated(app, kubelet, ip_family="ipv4"), kubelet) as status:
        assert status("127.0.0.1") == 200
        if ipv6_available():
            # Once it serves, an IPv6 probe is refused at once: what an IPv6 cluster would see.
            assert status("[::1]", timeout=0) is None


@pytest.mark.skipif(not ipv6_available(), reason="this machine has no IPv6 loopback")
def test_gunicorn_of_an_ipv6_cluster_answers_on_ipv6(app, kubelet):
    with serving(migrated(app, kubelet, ip_family="ipv6"), kubelet) as status:
        assert status("[::1]") == 200


def test_job_mode_gates_app_pods_until_the_job_has_migrated(app, kubelet, postgres):
    rendered = app(migrations="job", migrations_wait_timeout_seconds=2)
    job_pod = rendered.job_pod()
    assert [c["name"] for c in job_pod["containers"]] == ["migrate"]
    prepare(rendered, kubelet, job_pod)
    gate = rendered.container("wait-for-migrations")

    before = kubelet.run(gate, timeout=60)
    assert before.returncode == 1
    assert "migrations still unapplied after 2s" in before.stderr

    migrated = kubelet.run(rendered.container("migrate", job_pod))
    assert migrated.returncode == 0, migrated.stderr
    assert ("shop", "0002_product_sku") in applied_migrations(
        postgres, rendered.args["database"]["database_name"]
    )

    after = kubelet.run(gate, timeout=60)
    assert after.returncode == 0, after.stderr
    assert "every migration is applied" in after.stdout


@pytest.mark.parametrize("mode", ["none"])
def test_none_mode_runs_no_migration_step(app, mode):
    rendered = app(migrations=mode)
    names = [c["name"] for c in rendered.pod()["initContainers"]]
    # The release gate only (test_contract_django): nothing migrates.
    assert names == ["fetch-config", "fetch-secrets", "wait-for-db", "deploy-check"]


def test_health_checks_answer_any_host_while_every_other_path_validates_it(app, kubelet):
    # An ALB health check sends the target's IP as Host; a client must use a configured host.
    rendered = migrated(
        app, kubelet, ingress={"hosts": ["shop.example.com"], "ingress_cidrs": ["10.0.0.0/16"]}
    )
    django = rendered.container("django")
    server = kubelet.start(django)
    base = f"http://127.0.0.1:{rendered.args['port']}"
    try:
        # HTTPS as the ALB reports it: trusted because the NetworkPolicy admits only the ALB.
        https = {"X-Forwarded-Proto": "https"}
        assert get(f"{base}/healthz", "10.1.2.3")[0] == 200
        assert get(f"{base}/products", "10.1.2.3", timeout=5, headers=https)[0] == 400
        assert get(f"{base}/products", "shop.example.com", timeout=5, headers=https)[0] == 200
        # Plain HTTP is sent to HTTPS (DJANGO_SECURE_SSL_REDIRECT); the health path never is.
        assert get(f"{base}/products", "shop.example.com", timeout=5)[0] == 301
        env = {e["name"]: e.get("value") for e in django["env"]}
        assert env["DJANGO_CSRF_TRUSTED_ORIGINS"] == "https://shop.example.com"
    finally:
        server.terminate()
        server.wait(timeout=30)


CLEARSESSIONS = {
    "name": "clearsessions",
    "schedule": "0 3 * * *",
    "command": ["python", "manage.py", "clearsessions"],
}


def test_a_scheduled_command_waits_for_migrations_then_runs_to_exit_0(app, kubelet, postgres):
    rendered = app(schedules=[CLEARSESSIONS], migrations_wait_timeout_seconds=2, migrations="job")
    pod = rendered.schedule_pod("clearsessions")
    for name in ("fetch-config", "fetch-secrets", "wait-for-db"):
        assert kubelet.run(rendered.container(name, pod)).returncode == 0, name
    # Started before migrations: the run waits, and gives up after its bound, without migrating.
    early = kubelet.run(rendered.container("wait-for-migrations", pod))
    assert early.returncode != 0
    assert applied_migrations_or_none(postgres, rendered.args["database"]["database_name"]) is None
    # After the release's migrate (the Job's), the same steps pass and the command succeeds.
    assert kubelet.run(rendered.container("migrate", rendered.job_pod())).returncode == 0
    assert kubelet.run(rendered.container("wait-for-migrations", pod)).returncode == 0
    command = kubelet.run(rendered.container("clearsessions", pod))
    assert command.returncode == 0, command.stderr
    with postgres.admin(rendered.args["database"]["database_name"]) as conn:
        assert conn.execute("SELECT count(*) FROM django_session").fetchone() == (0,)
