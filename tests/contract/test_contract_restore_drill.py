"""Restore drills as rendered, run for real: the drill role made by its Job on PostgreSQL, the
archive uploaded by the backup step and downloaded by the drill's (aws-cli v2, each with its own
role's policy, against S3 with IAM enforced), then the drill as the drill role.

As in the official image, the app's role is the in-cluster server's superuser (``initdb
--username=$POSTGRES_USER``, docker-library/postgres ``docker-entrypoint.sh``): the fixture makes
it one, and takes it back afterwards (the other contract tests' roles are not superusers)."""

from __future__ import annotations

import datetime
import re
import subprocess

import psycopg
import pytest
from psycopg import sql

from pulumi_djangoapp.builders import backups, restore_drill

from . import test_contract_backups as backup_contract
from .services import aws_cli_v2
from .test_contract_backups import (
    PRODUCTS,
    backup_pod_spec,
    ballast,
    checksums,
    local,
    with_credentials,
)

# The backup contract's fixtures: an app with backups over the local server, S3 with IAM.
backed_up = backup_contract.backed_up
iam_s3 = backup_contract.iam_s3


@pytest.fixture
def backup_args():
    return {"restore_drill": {}}


def role_job_container(rendered):
    (job,) = [j for j in rendered.run.of_type(":Job") if j.name == "shop-drill-role"]
    (container,) = job.inputs["spec"]["template"]["spec"]["containers"]
    return container


def scratch_databases(postgres, db):
    with postgres.admin() as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (f"{db}_drill_",)
            )
        ]


class Drill:
    """The rendered app after its drill role Job ran and its backup pod dumped the database."""

    def __init__(self, rendered, db, server, bucket, roles, kubelet, postgres):
        self.rendered, self.db, self.server, self.bucket, self.roles = (
            rendered, db, server, bucket, roles,
        )  # fmt: skip
        self.kubelet, self.postgres = kubelet, postgres

    @property
    def dump(self):
        return self.kubelet.paths[backups.DUMP_DIR] / "dump"

    def upload(self):
        """The backup pod's upload step, with the backup role's policy: last night's archive."""
        (upload,) = backup_pod_spec(self.rendered)["containers"]
        result = self.kubelet.run(
            with_credentials(upload, self.server, self.roles["backup"]), timeout=300
        )
        assert result.returncode == 0, result.stderr

    def put(self, stamp: str, body: bytes) -> str:
        """An archive under ``<stamp>.dump``, written with the backup role's permissions."""
        key = f"shop/shop/postgres/{stamp}.dump"
        self.server.client("s3", self.roles["backup"]).put_object(
            Bucket=self.bucket, Key=key, Body=body
        )
        return key

    def run(self):
        """The drill's pod: download (the restore role), then the drill."""
        pod = self.rendered.schedule_pod("restore-drill")
        (download,), (step,) = pod["initContainers"], pod["containers"]
        for leftover in self.kubelet.paths[backups.DUMP_DIR].iterdir():
            leftover.unlink()
        fetched = self.kubelet.run(
            with_credentials(download, self.server, self.roles["restore"]), timeout=300
        )
        assert fetched.returncode == 0, fetched.stderr
        return self.kubelet.run(local(step, self.postgres), timeout=300)


@pytest.fixture
def drill(backed_up, iam_s3, kubelet, postgres, tmp_path):
    rendered, db = backed_up
    server, bucket, roles = iam_s3
    passwords = kubelet.paths[backups.PASSWORD_DIR]
    for key in (restore_drill.PASSWORD_KEY, restore_drill.VERIFIER_KEY):
        (passwords / key).write_text(rendered.credentials(key))
    with postgres.admin() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} SUPERUSER").format(sql.Identifier(db)))
    try:
        result = kubelet.run(local(role_job_container(rendered), postgres))
        assert result.returncode == 0, result.stderr
        kubelet.path_prefix = [str(aws_cli_v2(tmp_path, server.endpoint))]
        d = Drill(rendered, db, server, bucket, roles, kubelet, postgres)
        d.dumped = lambda: _dumped(d)
        yield d
    finally:
        with postgres.admin() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} NOSUPERUSER").format(sql.Identifier(db)))
            for name in scratch_databases(postgres, db):
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(f"{db}_drill")))


def _dumped(d: Drill) -> bytes:
    """The backup pod's dump step; the archive it wrote."""
    (dump,) = backup_pod_spec(d.rendered)["initContainers"]
    result = d.kubelet.run(local(dump, d.postgres))
    assert result.returncode == 0, result.stderr
    return d.dump.read_bytes()


def utc_stamp(delta: datetime.timedelta = datetime.timedelta()) -> str:
    return (datetime.datetime.now(datetime.UTC) + delta).strftime("%Y%m%dT%H%M%SZ")


def test_a_drill_restores_last_nights_archive_into_a_scratch_database_reads_every_table_and_drops_it(
    drill, postgres
):
    before = checksums(postgres, drill.db)
    drill.dumped()
    drill.upload()
    result = drill.run()
    assert result.returncode == 0, result.stderr
    assert f"drill: public.shop_product: {len(PRODUCTS)} rows" in result.stdout
    # Every table of the live database, with its row count as it was dumped.
    counted = dict(
        re.fullmatch(r"drill: public\.(\w+): (\d+) rows", line).groups()
        for line in result.stdout.splitlines()
        if line.endswith(" rows")
    )
    assert {t: int(n) for t, n in counted.items()} == {t: c[0] for t, c in before.items()}
    rows = sum(c[0] for c in before.values())
    assert "restored and read in" in result.stdout
    assert f"{len(before)} tables, {rows} rows" in result.stdout
    assert scratch_databases(postgres, drill.db) == [], "the scratch database is dropped"
    assert checksums(postgres, drill.db) == before, "the live database is untouched"


def test_a_drill_of_an_archive_cut_in_its_data_fails_and_drops_its_scratch_database(
    drill, postgres
):
    # Large enough that the cut lands in a table's data, after the scratch database exists.
    ballast(postgres, drill.db, drill.db)
    whole = drill.dumped()
    key = drill.put(utc_stamp(), whole[:-4096])
    result = drill.run()
    assert result.returncode != 0
    assert f"{key} did not restore" in result.stderr
    assert scratch_databases(postgres, drill.db) == [], "nothing left behind"


def test_a_drill_of_an_archive_cut_in_its_table_of_contents_fails_before_creating_anything(
    drill, postgres
):
    whole = drill.dumped()
    drill.put(utc_stamp(), whole[: len(whole) // 3])
    result = drill.run()
    assert result.returncode != 0
    assert "no CREATE DATABASE statement in the archive" in result.stderr
    assert scratch_databases(postgres, drill.db) == []


def test_a_drill_cannot_pass_on_an_archive_older_than_its_bound(drill, postgres):
    # Backups stopped: the newest archive is from long ago, though it restores.
    key = drill.put("20250101T021500Z", drill.dumped())
    result = drill.run()
    assert result.returncode != 0
    assert f"{key}, is" in result.stderr and "(more than 36h)" in result.stderr
    assert "nothing restored" in result.stderr
    assert scratch_databases(postgres, drill.db) == []


def test_a_drill_can_pass_on_an_archive_just_inside_its_bound(drill, postgres):
    key = drill.put(utc_stamp(-datetime.timedelta(hours=35, minutes=50)), drill.dumped())
    result = drill.run()
    assert result.returncode == 0, result.stderr
    assert f"{key} (35h old) restored" in result.stdout


def test_a_killed_drills_scratch_database_is_dropped_by_the_next_drill(drill, postgres):
    left = f"{drill.db}_drill_20000101000000"
    with postgres.admin() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(left), sql.Identifier(f"{drill.db}_drill")
            )
        )
    drill.put(utc_stamp(), drill.dumped())
    result = drill.run()
    assert result.returncode == 0, result.stderr
    assert scratch_databases(postgres, drill.db) == []


def drill_connection(postgres, rendered, dbname):
    return psycopg.connect(
        host="127.0.0.1",
        port=postgres.port,
        user="shop_drill",
        password=rendered.credentials(restore_drill.PASSWORD_KEY),
        dbname=dbname,
        autocommit=True,
    )


def test_the_drill_role_cannot_connect_to_the_live_database_nor_drop_it(drill, postgres):
    rendered, db = drill.rendered, drill.db
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        drill_connection(postgres, rendered, db)
    with drill_connection(postgres, rendered, "postgres") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
            conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(db)))
        role = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
            "FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert role == (False, False, True, False, False)


def test_the_drill_role_job_can_run_again_and_only_ever_sends_the_verifier(
    drill, kubelet, postgres
):
    rendered = drill.rendered
    result = kubelet.run(local(role_job_container(rendered), postgres))
    assert result.returncode == 0, result.stderr
    password = rendered.credentials(restore_drill.PASSWORD_KEY)
    script = role_job_container(rendered)["command"][-1]
    assert password not in script and "PASSWORD :'verifier'" in script
    with drill_connection(postgres, rendered, "postgres") as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("shop_drill",)
    # The statements the server saw: what its log and pg_stat_statements would hold.
    with postgres.admin() as conn:
        stored = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'shop_drill'"
        ).fetchone()[0]
    assert stored.startswith("SCRAM-SHA-256$") and stored == rendered.credentials(
        restore_drill.VERIFIER_KEY
    )


def test_the_harness_drill_role_setup_cannot_succeed_without_a_superuser(
    backed_up, kubelet, postgres
):
    """Fidelity: the role Job needs what the official image gives the app's role; as a plain
    role (an existing server's DBA would not grant it), the Job fails instead of half working."""
    rendered, db = backed_up
    passwords = kubelet.paths[backups.PASSWORD_DIR]
    (passwords / restore_drill.VERIFIER_KEY).write_text(
        rendered.credentials(restore_drill.VERIFIER_KEY)
    )
    result = kubelet.run(local(role_job_container(rendered), postgres))
    assert result.returncode != 0
    assert "permission denied to create role" in result.stderr
    assert isinstance(result, subprocess.CompletedProcess)
