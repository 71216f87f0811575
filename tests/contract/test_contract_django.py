"""The Django part as rendered, run for real with the example app: static files through gunicorn
and WhiteNoise with DEBUG off; the cache on the rendered server flags (Debian's redis-server 7.0
for valkey-server); mail through a local SMTP server (aiosmtpd) that demands STARTTLS and a
login; the release gate (``manage.py check --deploy``) in the migrate step, the migration Job
and the ``none`` mode's own init step, on PostgreSQL.

Stand-ins beyond the kubelet's: the cache URL names the in-cluster Service and is pointed at the
local server (the Service's job); the SMTP server's certificate is trusted through the image's
``SSL_CERT_FILE`` (an image built for a relay with a private CA carries it the same way)."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from .kubelet import APP_DIR
from .services import Valkey, free_port
from .test_contract_pod import applied_migrations, prepare

CACHE_SERVICE = "shop-cache.shop.svc.cluster.local:6379"
SMTP_USER = "AKIAEXAMPLEUSER"
# What an SES SMTP password or a relay's may hold: the URL escapes it, the app unescapes it.
SMTP_PASSWORD = "p@ss/w:rd %41 and+more"
TLS_WAY_IN = {"hosts": ["shop.example.com"], "ingress_cidrs": ["10.0.0.0/24"]}


def fetch(url, host, timeout=30.0):
    """Status, headers and body of a GET, retried while the server is still starting."""
    request = urllib.request.Request(url, headers={"Host": host})
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()
        except OSError:
            if time.monotonic() >= deadline:
                return None, {}, b""
            time.sleep(0.3)


@contextlib.contextmanager
def gunicorn(rendered, kubelet):
    """The rendered django container, started as the kubelet would; yields a GET of a path."""
    django = rendered.container("django")
    host = django["readinessProbe"]["httpGet"]["httpHeaders"][0]["value"]
    server = kubelet.start(django)

    def get(path):
        status, headers, body = fetch(f"http://127.0.0.1:{rendered.args['port']}{path}", host)
        if status is None:
            pytest.fail(f"gunicorn did not answer: {server.poll()} {server.stderr.read()}")
        return status, headers, body

    try:
        yield get
    finally:
        server.terminate()
        server.wait(timeout=30)


def migrated(app, kubelet, **args):
    rendered = app(**args)
    prepare(rendered, kubelet)
    result = kubelet.run(rendered.container("migrate"))
    assert result.returncode == 0, result.stderr
    return rendered


# ---- static files ---------------------------------------------------------------------------


def collect_static(kubelet, tmp_path):
    """The image build's `collectstatic` (the Dockerfile's RUN line), into a folder the image's
    ENV names for the stand-in."""
    root = tmp_path / "static"
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=APP_DIR,
        env={"PATH": os.environ["PATH"], "DJANGO_BUILD": "1", "DJANGO_STATIC_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    kubelet.image_env["DJANGO_STATIC_ROOT"] = str(root)
    return json.loads((root / "staticfiles.json").read_text())["paths"]


def test_gunicorn_serves_hashed_static_files_immutable_and_unhashed_ones_briefly(
    app, kubelet, tmp_path
):
    rendered = migrated(app, kubelet)
    assert "DJANGO_DEBUG" not in {e["name"] for e in rendered.container("django")["env"]}
    hashed = collect_static(kubelet, tmp_path)["shop/site.css"]
    assert hashed != "shop/site.css" and hashed.startswith("shop/site.")
    with gunicorn(rendered, kubelet) as get:
        status, headers, body = get(f"/static/{hashed}")
        assert status == 200 and b"font-family" in body
        # WhiteNoise: a year, immutable, only for names a Manifest storage marks as versioned.
        assert headers["Cache-Control"] == "max-age=315360000, public, immutable"
        status, headers, _ = get("/static/shop/site.css")
        assert status == 200
        assert headers["Cache-Control"] == "max-age=60, public"


def test_gunicorn_cannot_serve_a_static_file_that_was_not_collected(app, kubelet, tmp_path):
    rendered = migrated(app, kubelet)
    collect_static(kubelet, tmp_path)
    with gunicorn(rendered, kubelet) as get:
        status, _, _ = get("/static/shop/missing.css")
        assert status == 404


# ---- cache ----------------------------------------------------------------------------------


@pytest.fixture
def cached_app(app, kubelet, tmp_path):
    """The app with an in-cluster cache: its server from the rendered flags and ACL, the URL
    file pointed at it, migrated."""
    servers = []

    def make(migrate=True, **overrides):
        rendered = app(cache=overrides.pop("cache", {}), **overrides)
        server = Valkey(
            rendered.cache_command(), rendered.credentials("cache-users.acl"), tmp_path / "cache"
        ).start()
        servers.append(server)
        if not migrate:  # the server alone, as its own pod runs it
            url = f"redis://:{rendered.credentials('cache-users.acl').split('>')[1].split()[0]}@127.0.0.1:{server.port}/0"
            return rendered, server, redis.Redis.from_url(url)
        prepare(rendered, kubelet)
        url_file = rendered.tmp / "secrets" / "cache-url"
        url = url_file.read_text()
        assert url.startswith("redis://:") and url.endswith(f"@{CACHE_SERVICE}/0")
        url_file.chmod(0o600)
        url_file.write_text(url.replace(CACHE_SERVICE, f"127.0.0.1:{server.port}"))
        result = kubelet.run(rendered.container("migrate"))
        assert result.returncode == 0, result.stderr
        return rendered, server, redis.Redis.from_url(url_file.read_text())

    yield make
    for server in servers:
        server.stop()


def test_the_cache_answers_a_cached_view_from_its_own_evicting_server(cached_app, kubelet):
    rendered, server, client = cached_app()
    with gunicorn(rendered, kubelet) as get:
        first, second = get("/cached-clock"), get("/cached-clock")
    assert first[0] == 200 and first[2] == second[2], "the second answer came from the cache"
    assert client.dbsize() >= 1
    # What the server itself reports: it evicts, and keeps nothing on disk.
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    assert client.config_get("appendonly") == {"appendonly": "no"}
    assert client.config_get("save") == {"save": ""}
    env = {e["name"] for e in rendered.container("django")["env"]}
    assert "CACHE_URL_FILE" in env and "BROKER_URL_FILE" not in env, "never the broker"


def test_the_cache_cannot_be_used_without_the_generated_password(cached_app):
    _, server, client = cached_app(migrate=False)
    assert client.ping(), "the generated password is accepted"
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=server.port).get("anything")


def test_a_full_cache_evicts_old_keys_instead_of_refusing_writes(cached_app):
    # 8Mi of memory: maxmemory is 4/5 of it; ten times as much data is written.
    resources = {"requests": {"cpu": "10m", "memory": "8Mi"}, "limits": {"memory": "8Mi"}}
    _, _, client = cached_app(migrate=False, cache={"resources": resources})
    maxmemory = int(client.config_get("maxmemory")["maxmemory"])
    assert maxmemory == 8 * 1024 * 1024 * 4 // 5
    value = b"x" * 10_000
    written = 10 * maxmemory // len(value)
    for i in range(written):
        client.set(f"key-{i}", value)  # a noeviction server would raise OOM here
    assert client.info("stats")["evicted_keys"] > 0
    assert client.dbsize() < written
    assert client.get(f"key-{written - 1}") == value, "the newest key is kept"


# ---- mail -----------------------------------------------------------------------------------


def self_signed_localhost(tmp_path):
    """A certificate for localhost and its key, with the `cryptography` moto already needs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Relay:
    """What aiosmtpd accepted: the envelopes, and whether each session was TLS."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes, bool]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.mail_from, envelope.rcpt_tos, envelope.content, session.ssl is not None)
        )
        return "250 OK"


def check_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
    # handled=False: aiosmtpd itself answers 535 on a failure.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp(tmp_path, kubelet):
    """A local SMTP server on 127.0.0.1 that refuses mail before STARTTLS and without a login."""
    cert, key = self_signed_localhost(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    relay = Relay()
    controller = Controller(
        relay,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=check_login,
    )
    controller.start()
    kubelet.image_env["SSL_CERT_FILE"] = str(cert)
    yield controller.port, relay
    controller.stop()


def mail_args(port, password=SMTP_PASSWORD):
    return {
        "url": f"smtp://{SMTP_USER}@localhost:{port}",
        "password": password,
        "default_from_email": "Shop <shop@example.com>",
        "server_email": "errors@example.com",
    }


def manage(rendered, kubelet, *command):
    """A management command in the django container's env and mounts (as `kubectl exec`)."""
    django = rendered.container("django")
    return kubelet.run({**django, "command": ["python", "manage.py", *command], "args": []})


def test_the_app_sends_mail_through_starttls_with_the_rendered_url_and_senders(app, kubelet, smtp):
    port, relay = smtp
    rendered = migrated(app, kubelet, mail=mail_args(port))
    url = (rendered.tmp / "secrets" / "email-url").read_text()
    assert url.startswith(f"smtp://{SMTP_USER}:") and SMTP_PASSWORD not in url, "escaped"
    result = manage(rendered, kubelet, "sendtestemail", "ops@example.com")
    assert result.returncode == 0, result.stderr
    ((sender, recipients, content, over_tls),) = relay.messages
    assert sender == "shop@example.com" and recipients == ["ops@example.com"]
    assert b"From: Shop <shop@example.com>" in content
    assert over_tls
    shell = manage(rendered, kubelet, "shell", "-v", "0", "-c", SENDERS)
    assert shell.stdout.splitlines() == ["Shop <shop@example.com>", "errors@example.com"]


SENDERS = "from django.conf import settings; print(settings.DEFAULT_FROM_EMAIL); print(settings.SERVER_EMAIL)"


def test_the_app_cannot_send_mail_with_a_wrong_password(app, kubelet, smtp):
    port, relay = smtp
    rendered = migrated(app, kubelet, mail=mail_args(port, password="not-the-password"))
    result = manage(rendered, kubelet, "sendtestemail", "ops@example.com")
    assert result.returncode != 0
    assert "535" in result.stderr  # authentication failed
    assert relay.messages == []


def test_the_smtp_password_is_in_no_env_value_or_pod_spec(app, kubelet, smtp):
    port, _ = smtp
    rendered = app(mail=mail_args(port))
    checked = 0
    for registration in rendered.run.registrations:
        if registration.type.startswith("kubernetes:") and "Secret" not in registration.type:
            assert SMTP_PASSWORD not in json.dumps(registration.inputs), registration.name
            checked += 1
    assert checked >= 3
    outputs = json.dumps(list(rendered.run.outputs.values()))
    assert SMTP_PASSWORD not in outputs and "email-smtp" not in outputs


# ---- the release gate -----------------------------------------------------------------------


def test_the_migrate_step_passes_the_deploy_check_without_a_way_in_with_the_https_checks_silenced(
    app, kubelet
):
    rendered = app()
    prepare(rendered, kubelet)
    result = kubelet.run(rendered.container("migrate"))
    assert result.returncode == 0, result.stderr
    assert (
        "deploy-check: manage.py check --deploy passed at level WARNING (silenced: security.W004, "
        "security.W008, security.W012, security.W016)" in result.stdout
    )


def test_the_migrate_step_passes_the_deploy_check_behind_a_tls_way_in_with_only_preload_silenced(
    app, kubelet
):
    rendered = app(ingress=TLS_WAY_IN)
    prepare(rendered, kubelet)
    result = kubelet.run(rendered.container("migrate"))
    assert result.returncode == 0, result.stderr
    assert "passed at level WARNING (silenced: security.W021)" in result.stdout


def test_a_release_that_fails_the_deploy_check_cannot_migrate(app, kubelet, postgres):
    # DEBUG left on: security.W018, a warning; the gate fails at WARNING before any migration.
    rendered = app(env={"DJANGO_DEBUG": "true"})
    prepare(rendered, kubelet)
    result = kubelet.run(rendered.container("migrate"))
    assert result.returncode == 3
    assert "security.W018" in result.stderr and "this release does not start" in result.stderr
    with postgres.admin(rendered.args["database"]["database_name"]) as conn:
        tables = conn.execute("SELECT to_regclass('django_migrations')").fetchone()[0]
    assert tables is None, "nothing was migrated"


def test_a_release_can_pass_the_gate_at_level_error_with_warnings_left(app, kubelet):
    rendered = app(env={"DJANGO_DEBUG": "true"}, deploy_check={"fail_level": "ERROR"})
    prepare(rendered, kubelet)
    result = kubelet.run(rendered.container("migrate"))
    assert result.returncode == 0, result.stderr
    assert "security.W018" in result.stdout + result.stderr  # reported, not fatal


def test_the_migration_job_cannot_complete_a_release_that_fails_the_deploy_check(
    app, kubelet, postgres
):
    rendered = app(migrations="job", env={"DJANGO_DEBUG": "true"})
    job_pod = rendered.job_pod()
    prepare(rendered, kubelet, job_pod)
    result = kubelet.run(rendered.container("migrate", job_pod))
    assert result.returncode == 3 and "security.W018" in result.stderr
    assert rendered.run.one(":Job").inputs["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_the_migration_job_runs_the_deploy_check_then_migrates(app, kubelet, postgres):
    rendered = app(migrations="job")
    job_pod = rendered.job_pod()
    prepare(rendered, kubelet, job_pod)
    result = kubelet.run(rendered.container("migrate", job_pod))
    assert result.returncode == 0, result.stderr
    assert "deploy-check: manage.py check --deploy passed" in result.stdout
    assert ("shop", "0001_initial") in applied_migrations(
        postgres, rendered.args["database"]["database_name"]
    )


@pytest.mark.parametrize("debug, code", [("false", 0), ("true", 3)])
def test_without_migrations_the_web_pod_runs_the_deploy_check_as_its_last_init_step(
    app, kubelet, debug, code
):
    rendered = app(migrations="none", env={"DJANGO_DEBUG": debug})
    names = [c["name"] for c in rendered.pod()["initContainers"]]
    assert names[-1] == "deploy-check"
    prepare(rendered, kubelet)
    result = kubelet.run(rendered.container("deploy-check"))
    assert result.returncode == code, result.stderr


def test_a_release_with_the_gate_switched_off_migrates_whatever_check_deploy_says(app, kubelet):
    rendered = app(env={"DJANGO_DEBUG": "true"}, deploy_check={"enabled": False})
    prepare(rendered, kubelet)
    result = kubelet.run(rendered.container("migrate"))
    assert result.returncode == 0, result.stderr
    assert "deploy-check" not in result.stdout + result.stderr
