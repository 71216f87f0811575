"""RDS's role Job and TLS, run for real: the rendered ``fetch-credentials`` and ``create-role``
commands against moto and a TLS-only PostgreSQL 15 (Debian; RDS's master is played by a
non-superuser with CREATEROLE and CREATEDB), the role SQL also on PostgreSQL 16.2 (pgserver
wheel: CREATEROLE's rules changed in 16), and the example app connecting over the URL the pod
receives, with ``sslmode=verify-full`` against a CA made here.

The instance itself is the mocks' (address ``localhost``, port the server's); the master secret
is created in moto as RDS would write it (JSON with username and password only).
"""

from __future__ import annotations

import datetime
import http.server
import json
import ssl
import subprocess
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from harness import run_program

from pulumi_djangoapp.builders import rds
from pulumi_djangoapp.settings import rds as rds_settings

from .render import OIDC, MotoMocks
from .services import Postgres, free_port, pgserver_bin

MASTER_USER = "dbadmin"
# Every character JSON must escape, and shell metacharacters: jq must hand it over unchanged.
MASTER_PASSWORD = "M4ster\"pw\\with$(x)`y`&|;'quotes"
APP = "shop_rds"


def _certificates(root: Path) -> dict[str, Path]:
    """A CA, a server certificate it signs for ``localhost`` only, and an unrelated CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def ca(name: str):
        k = key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(k.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(k, hashes.SHA256())
        )  # fmt: skip
        return k, cert

    ca_key, ca_cert = ca("test RDS root")
    _, other_cert = ca("another root")
    server_key = key()
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    files = {
        "ca": root / "ca.pem",
        "other": root / "other-ca.pem",
        "crt": root / "server.crt",
        "key": root / "server.key",
    }
    files["ca"].write_bytes(ca_cert.public_bytes(pem))
    files["other"].write_bytes(other_cert.public_bytes(pem))
    files["crt"].write_bytes(server_cert.public_bytes(pem))
    files["key"].write_bytes(
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


class _Bundle(http.server.BaseHTTPRequestHandler):
    """AWS's trust store, played over HTTPS: /bundle.pem is the CA, /broken.pem is not PEM."""

    bundle = b""

    def do_GET(self):
        body = self.bundle if self.path == "/bundle.pem" else b"<html>not a certificate</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return _certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_postgres(certs):
    # As RDS for PostgreSQL >= 11 runs: pg_stat_statements loaded, utility statements tracked,
    # a failing statement logged whole (log_min_error_statement's default, pinned here).
    rds_like = {
        "shared_preload_libraries": "pg_stat_statements",
        "pg_stat_statements.track_utility": "on",
        "log_min_error_statement": "error",
    }
    server = Postgres(tls=certs["crt"].parent, settings=rds_like).start()
    with server.admin() as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
        # What RDS's master is: no superuser, CREATEROLE and CREATEDB.
        conn.execute(
            f"CREATE ROLE {MASTER_USER} LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD.replace(chr(39), chr(39) * 2)}'"
        )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def trust_store(certs):
    handler = type("Bundle", (_Bundle,), {"bundle": certs["ca"].read_bytes()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs["crt"], certs["key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}"
    server.shutdown()


class RdsMocks(MotoMocks):
    """The RDS instance answers on localhost at the test server's port; its master secret is
    written to moto the way RDS writes it."""

    def __init__(self, moto, port: int):
        super().__init__(moto)
        self.port = port

    def new_resource(self, args):
        resource_id, state = super().new_resource(args)
        if args.typ == "aws:rds/instance:Instance":
            arn = self.sm.create_secret(
                Name=f"rds!db-{uuid.uuid4()}",
                SecretString=json.dumps({"username": MASTER_USER, "password": MASTER_PASSWORD}),
            )["ARN"]
            state = {
                **state,
                "address": "localhost",
                "port": self.port,
                "masterUserSecrets": [{"secretArn": arn}],
            }
        return resource_id, state


@pytest.fixture
def rendered(tmp_path, moto, tls_postgres, trust_store):
    args = {
        "image": "ghcr.io/example/django-shop:0.1.0",
        "port": free_port(),
        "config_files": {"app.toml": "[features]\n"},
        "config_mount_path": str(tmp_path / "config"),
        "secrets_mount_path": str(tmp_path / "secrets"),
        "database": {
            "provider": "rds",
            "port": tls_postgres.port,
            "database_name": APP,
            "username": APP,
            "rds": {
                "subnet_ids": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"],
                "client_security_group_ids": ["sg-0a1b2c3d"],
                "ca_bundle_url": f"{trust_store}/bundle.pem",
            },
        },
        "aws_region": "us-east-1",
        "aws_endpoint_url": moto.endpoint,
        "db_wait_timeout_seconds": 15,
        **OIDC,
    }
    for folder in ("config", "secrets", "work"):
        (tmp_path / folder).mkdir()
    run = run_program(
        lambda: __import__("pulumi_djangoapp").DjangoApp("shop", args).namespace,
        mocks=RdsMocks(moto, tls_postgres.port),
    )
    return run


def _trusting(container: dict, certs) -> dict:
    """The image's system trust store stands in for the public CA of AWS's trust store: here
    curl is told about the test CA, nothing else about the container changes."""
    return {
        **container,
        "env": [*container["env"], {"name": "CURL_CA_BUNDLE", "value": str(certs["ca"])}],
    }


def _job_container(run, name: str) -> dict:
    spec = run.named("shop-db-role").inputs["spec"]["template"]["spec"]
    (found,) = [c for c in [*spec["initContainers"], *spec["containers"]] if c["name"] == name]
    return found


def _pod_container(run, name: str) -> dict:
    spec = run.named("shop-deployment").inputs["spec"]["template"]["spec"]
    (found,) = [c for c in [*spec["initContainers"], *spec["containers"]] if c["name"] == name]
    return found


def _ok(result: subprocess.CompletedProcess, name: str) -> None:
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture
def role_job_ran(rendered, kubelet, tmp_path, certs):
    kubelet.paths[rds.WORK_DIR] = tmp_path / "work"
    _ok(
        kubelet.run(_trusting(_job_container(rendered, "fetch-credentials"), certs)),
        "fetch-credentials",
    )
    return rendered


def test_fetch_credentials_hands_over_the_master_password_unchanged_and_the_ca_bundle(
    role_job_ran, tmp_path, certs
):
    work = tmp_path / "work"
    assert (work / "master-user").read_text() == MASTER_USER
    assert (work / "master-password").read_text() == MASTER_PASSWORD
    assert (work / "app-password-verifier").read_text().startswith("SCRAM-SHA-256$4096:")
    assert not (work / "app-password").exists(), "the role Job never holds the app's password"
    assert (work / "rds-ca.pem").read_bytes() == certs["ca"].read_bytes()
    assert not list(work.glob("*.partial"))


def test_fetch_credentials_cannot_pass_off_a_page_that_is_not_a_pem_bundle(
    rendered, kubelet, tmp_path, certs, trust_store
):
    kubelet.paths[rds.WORK_DIR] = tmp_path / "work"
    container = _trusting(_job_container(rendered, "fetch-credentials"), certs)
    container["env"] = [
        {**e, "value": f"{trust_store}/broken.pem"} if e["name"] == "CA_BUNDLE_URL" else e
        for e in container["env"]
    ]
    result = kubelet.run(container)
    assert result.returncode != 0
    assert "not a PEM bundle" in result.stderr
    assert not (tmp_path / "work" / "rds-ca.pem").exists()


def test_fetch_credentials_cannot_download_the_bundle_from_an_untrusted_server(
    rendered, kubelet, tmp_path
):
    kubelet.paths[rds.WORK_DIR] = tmp_path / "work"
    # No CURL_CA_BUNDLE: the self-signed test server is not trusted, so nothing is written.
    result = kubelet.run(_job_container(rendered, "fetch-credentials"))
    assert result.returncode != 0
    assert not (tmp_path / "work" / "rds-ca.pem").exists()


def test_create_role_runs_twice_and_the_app_role_owns_its_database_and_nothing_more(
    role_job_ran, kubelet, tls_postgres
):
    for attempt in range(2):
        _ok(
            kubelet.run(_job_container(role_job_ran, "create-role")),
            f"create-role (run {attempt + 1})",
        )
    with tls_postgres.admin() as conn:
        role = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = %s",
            (APP,),
        ).fetchone()
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (APP,)
        ).fetchone()
        public_connect = conn.execute(
            "SELECT has_database_privilege('public', %s, 'CONNECT')", (APP,)
        ).fetchone()
    assert role == (False, False, False, True)
    assert owner == (APP,)
    assert public_connect == (False,)


def test_the_app_migrates_and_connects_over_verify_full_tls_with_the_generated_password(
    role_job_ran, kubelet, tmp_path, certs, tls_postgres
):
    _ok(kubelet.run(_job_container(role_job_ran, "create-role")), "create-role")
    for name in ("fetch-config", "fetch-secrets", "wait-for-db", "migrate"):
        container = _pod_container(role_job_ran, name)
        _ok(
            kubelet.run(_trusting(container, certs) if name == "fetch-secrets" else container), name
        )
    secrets = tmp_path / "secrets"
    url = (secrets / "database-url").read_text()
    assert url.startswith(f"postgres://{APP}:") and f"@localhost:{tls_postgres.port}/{APP}?" in url
    assert url.endswith(f"?sslmode=verify-full&sslrootcert={secrets}/rds-ca.pem")
    assert (secrets / "rds-ca.pem").read_bytes() == certs["ca"].read_bytes()
    django = _pod_container(role_job_ran, "django")
    check = {
        **django,
        "command": [
            "python", "manage.py", "shell", "-c",
            "from django.db import connection\n"
            "with connection.cursor() as c:\n"
            "    c.execute('SELECT current_user, ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE pid = pg_backend_pid()')\n"
            "    print(c.fetchone())",
        ],
    }  # fmt: skip
    result = kubelet.run(check)
    _ok(result, "django shell")
    # The last line: Django 5.2's shell first reports what it imported.
    assert result.stdout.strip().splitlines()[-1] == f"('{APP}', True)"


def test_the_url_cannot_reach_a_server_whose_certificate_names_another_host_or_another_ca(
    role_job_ran, kubelet, tmp_path, certs
):
    """What verify-full adds: sslmode=require would accept both servers below."""
    _ok(kubelet.run(_job_container(role_job_ran, "create-role")), "create-role")
    _ok(
        kubelet.run(_trusting(_pod_container(role_job_ran, "fetch-secrets"), certs)),
        "fetch-secrets",
    )
    url = (tmp_path / "secrets" / "database-url").read_text()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="does not match host name|certificate"):
        psycopg.connect(url.replace("@localhost:", "@127.0.0.1:"))
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(url.replace(str(tmp_path / "secrets" / "rds-ca.pem"), str(certs["other"])))
    with psycopg.connect(
        url.replace("@localhost:", "@127.0.0.1:").replace("verify-full", "require")
    ) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_the_role_sql_is_idempotent_on_postgresql_16_as_a_createrole_non_superuser(tmp_path):
    """PostgreSQL 16: the creator of a role holds ADMIN OPTION only; without granting itself
    the role it could not create a database owned by it."""
    server = Postgres(bin_dir=pgserver_bin()).start()
    try:
        with server.admin() as conn:
            assert conn.execute("SHOW server_version_num").fetchone()[0].startswith("16")
            conn.execute(f"CREATE ROLE {MASTER_USER} LOGIN CREATEROLE CREATEDB PASSWORD 'masterpw'")
        work = tmp_path / "work"
        work.mkdir()
        (work / "app-password-verifier").write_text(
            rds.scram_sha256_verifier("GeneratedAppPassword16", b"sixteen byte salt"[:16])
        )
        env = {
            "PATH": f"{server.bin}:/usr/bin:/bin", "WORK_DIR": str(work), "PGHOST": "127.0.0.1",
            "PGPORT": str(server.port), "PGUSER": MASTER_USER, "PGPASSWORD": "masterpw", "PGDATABASE": "postgres",
        }  # fmt: skip
        for attempt in range(2):
            result = subprocess.run(
                ["psql", "--no-psqlrc", "--quiet", "--set", f"app_user={APP}", "--set", f"app_db={APP}", "--file", "-"],
                input=rds.ROLE_SQL, env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            _ok(result, f"role SQL on 16 (run {attempt + 1})")
        with psycopg.connect(
            host="127.0.0.1",
            port=server.port,
            user=APP,
            password="GeneratedAppPassword16",
            dbname=APP,
        ) as conn:
            conn.execute("CREATE TABLE owned (id int)")
            assert conn.execute("SELECT current_user").fetchone() == (APP,)
    finally:
        server.stop()


def test_the_app_password_is_in_neither_pg_stat_statements_nor_the_log_and_the_app_still_logs_in(
    role_job_ran, kubelet, tmp_path, tls_postgres
):
    """#25: RDS tracks utility statements in pg_stat_statements and logs a failing statement
    whole; ALTER ROLE ... PASSWORD carries a SCRAM verifier, never the password."""
    password = json.loads(_secret_document(role_job_ran))["password"]
    with tls_postgres.admin() as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
    _ok(kubelet.run(_job_container(role_job_ran, "create-role")), "create-role")
    # The same Job failing at ALTER ROLE (its master lost CREATEROLE): the statement is logged.
    with tls_postgres.admin() as conn:
        conn.execute(f"ALTER ROLE {MASTER_USER} NOCREATEROLE")
    try:
        failed = kubelet.run(_job_container(role_job_ran, "create-role"))
    finally:
        with tls_postgres.admin() as conn:
            conn.execute(f"ALTER ROLE {MASTER_USER} CREATEROLE")
    assert failed.returncode != 0
    with tls_postgres.admin() as conn:
        statements = [r[0] for r in conn.execute("SELECT query FROM pg_stat_statements")]
        stored = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (APP,)
        ).fetchone()[0]
    log = tls_postgres.log
    assert any("ALTER ROLE" in q and "SCRAM-SHA-256$" in q for q in statements), (
        "the statement was tracked"
    )
    assert "STATEMENT:" in log and "SCRAM-SHA-256$4096:" in log, "the failing statement was logged"
    assert not [q for q in statements if password in q]
    assert password not in log
    assert stored.startswith("SCRAM-SHA-256$4096:"), "stored as given"
    with psycopg.connect(
        host="localhost",
        port=tls_postgres.port,
        user=APP,
        password=password,
        dbname=APP,
        sslmode="require",
    ) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (APP,)


def _secret_document(run) -> str:
    return next(
        r.inputs["secretString"]
        for r in run.of_type(":SecretVersion")
        if r.name == "shop-secrets-database-json-version"
    )


def test_the_reserved_words_refused_as_master_user_are_the_servers_reserved_key_words(tls_postgres):
    """RDS refuses a reserved word of the engine as master user name: the component refuses what
    PostgreSQL itself reports as reserved (categories R and T) on 15 and 16, either of them."""
    query = "SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')"
    with tls_postgres.admin() as conn:
        on_15 = {r[0] for r in conn.execute(query)}
    other = Postgres(bin_dir=pgserver_bin()).start()
    try:
        with other.admin() as conn:
            on_16 = {r[0] for r in conn.execute(query)}
    finally:
        other.stop()
    assert on_16 - on_15 == {"system_user"}, "16 reserved one more word"
    assert on_15 | on_16 == rds_settings.RESERVED_WORDS


def test_the_postgresql_16_server_runs_from_a_folder_every_user_can_traverse():
    # #27: as root the server runs as `postgres`, which cannot enter a 0700 checkout.
    import os

    folder = pgserver_bin()
    if os.geteuid() == 0:
        for parent in [folder, *folder.parents]:
            assert os.stat(parent).st_mode & 0o001, f"{parent} is not traversable by other users"
        assert not str(folder).startswith(str(Path(__file__).resolve().parents[2]))
