"""Real services for the contract tests: a PostgreSQL server and an S3/STS/Secrets Manager API
(moto), both on loopback, started and stopped by the tests."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
import psycopg
from moto.server import ThreadedMotoServer
from psycopg import sql


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path:
    """Where pg_ctl lives: on PATH, or Debian's versioned directory."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql")
    return Path(candidates[-1]).parent


def pgserver_bin() -> Path:
    """PostgreSQL 16 from the pgserver wheel (PyPI): newer than Debian bookworm's 15, built
    without OpenSSL. Used where 16's rules matter (CREATEROLE), not for TLS.

    As root the server runs as ``postgres``, which may not traverse the checkout (a clone under
    root's home or a ``mktemp -d`` is 0700): the installation is copied once to a folder of its
    own under the system's temporary directory, readable by every user."""
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pgserver is not installed: requirements-dev.txt installs it")
    source = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if os.geteuid() != 0:
        return source / "bin"
    root = (
        Path(tempfile.gettempdir())
        / f"djangoapp-pgserver-{hashlib.sha256(str(source).encode()).hexdigest()[:12]}"
    )
    if not (root / ".copied").exists():
        shutil.rmtree(root, ignore_errors=True)
        # The binaries find libpq through their RPATH, $ORIGIN/../../../pgserver.libs: the
        # wheel's layout is kept (pgserver/pginstall beside pgserver.libs).
        shutil.copytree(source, root / "pgserver" / "pginstall", symlinks=True)
        shutil.copytree(
            source.parent.parent / "pgserver.libs", root / "pgserver.libs", symlinks=True
        )
        for folder, _, _ in os.walk(root):
            os.chmod(folder, 0o755)
        (root / ".copied").touch()
    os.chmod(root, 0o755)
    return root / "pgserver" / "pginstall" / "bin"


class Postgres:
    """A throwaway server. PostgreSQL refuses to run as root, so as root it runs as `postgres`.
    With ``tls`` (a directory holding server.crt and server.key) it accepts TLS connections
    only, as RDS does with ``rds.force_ssl``."""

    def __init__(
        self,
        bin_dir: "Path | None" = None,
        tls: "Path | None" = None,
        settings: "dict | None" = None,
    ) -> None:
        self.bin = bin_dir or postgres_bin()
        self.tls = tls
        # Server settings, as `-c name=value`: RDS's defaults where a test needs them.
        self.settings = settings or {}
        self.root = Path(tempfile.mkdtemp(prefix="djangoapp-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> "Postgres":
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
        )  # fmt: skip
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        if self.tls is not None:
            for name in ("server.crt", "server.key"):
                shutil.copy(self.tls / name, self.data / name)
                os.chmod(self.data / name, 0o600)
                if self.as_user:
                    shutil.chown(self.data / name, "postgres", "postgres")
            (self.data / "pg_hba.conf").write_text(
                "local all all trust\n"
                "hostssl all all 127.0.0.1/32 scram-sha-256\n"
                "hostnossl all all 0.0.0.0/0 reject\n"
            )
            options += " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.root / "log"),
            "start",
        )
        return self

    @property
    def log(self) -> str:
        return (self.root / "log").read_text(errors="replace")

    def stop(self) -> None:
        try:
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.root), port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def create_database(self, name: str, owner: str, password: str) -> None:
        """What a DBA does for an existing server: the role gets the generated password."""
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(owner), sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(owner)
                )
            )


class Moto:
    """S3, STS, IAM and Secrets Manager on loopback; the CLI reaches it via AWS_ENDPOINT_URL."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Moto":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def redis_server() -> str:
    """Debian's redis-server 7.0 (`make test` installs it): the Redis protocol the in-cluster
    Valkey speaks; the contract tests run the rendered server flags with it."""
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError(
            "redis-server is not installed: `make test` installs Debian's redis-server"
        )
    return found


class Valkey:
    """A rendered Valkey container's command (the broker's or the cache's), run with
    redis-server in place of valkey-server, its data directory and ACL file mapped to a temporary
    directory and its port to a free one (the Service's job in the cluster)."""

    def __init__(self, command: list[str], acl: str, root: Path) -> None:
        self.root = root
        self.port = free_port()
        (root / "data").mkdir(parents=True, exist_ok=True)
        acl_path = root / "users.acl"
        acl_path.write_text(acl)
        mapped = {"--aclfile": str(acl_path), "--dir": str(root / "data"), "--port": str(self.port)}
        assert command[0] == "valkey-server", command
        self.argv = [redis_server()]
        for flag, value in zip(command[1::2], command[2::2], strict=True):
            self.argv += [flag, mapped.get(flag, value)]
        self.argv += ["--bind", "127.0.0.1", "--daemonize", "no"]
        self.process: subprocess.Popen | None = None

    def start(self) -> "Valkey":
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.process.stdout.read()}")
            time.sleep(0.05)
        raise RuntimeError("redis-server did not listen within 20 s")

    def stop(self) -> int:
        """SIGTERM, as the kubelet sends it: the server writes its append-only file and exits."""
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout=30)


# Debian bookworm's awscli package: aws-cli v2 (2.9.19), the major version the aws-cli image
# runs. PyPI's awscli is v1, whose `s3 mv` never read tags: it hid #25's failed backups.
AWS_CLI_V2 = Path("/usr/bin/aws")


def aws_cli_v2(root: Path, endpoint: str) -> Path:
    """A folder whose `aws` is Debian's aws-cli v2 sent to ``endpoint``: 2.9.19 predates
    AWS_ENDPOINT_URL (2.13), so the endpoint is given as the flag every command takes."""
    if not AWS_CLI_V2.exists():
        raise RuntimeError("aws-cli v2 is not installed: `make test` installs Debian's awscli")
    folder = root / "aws-cli-v2"
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "aws"
    wrapper.write_text(f'#!/bin/sh\nexec {AWS_CLI_V2} --endpoint-url {endpoint} "$@"\n')
    wrapper.chmod(0o755)
    return folder


class IamMoto:
    """moto in its own process with IAM enforced: after ``setup_calls`` requests (moto's
    INITIAL_NO_AUTH_ACTION_COUNT), every request needs credentials whose identity policies allow
    its action on its resource. moto checks actions and resources, not most conditions, and no
    bucket or key policies."""

    def __init__(self, setup_calls: int) -> None:
        self.port = free_port()
        self.setup_calls = setup_calls
        self.process: "subprocess.Popen | None" = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "IamMoto":
        import sys

        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(self.setup_calls)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        raise RuntimeError("moto did not listen within 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def client(self, service: str, credentials: "dict | None" = None):
        keys = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1", **keys)
