"""Backups as rendered, run for real: the dump with PostgreSQL's own tools, the upload and the
restore's download with the AWS CLI against moto, the restore over a dropped database.

Stand-ins beyond the kubelet's: the database Service name is pointed at the local server (the
test checks the name first), and the dump volume and the password file are temporary folders."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from psycopg import sql

from pulumi_djangoapp import backup_pod, backups
from pulumi_djangoapp.fetch import AwsRefs
from pulumi_djangoapp.settings import normalise

from .kubelet import APP_DIR

PRODUCTS = [("Tea", 450, "T-1"), ("Coffee", 390, "C-1"), ("Cake", 600, None)]


@pytest.fixture
def backed_up(app, kubelet, postgres, tmp_path):
    """An app with backups, its in-cluster database played by the local server, migrated and
    holding the example app's rows."""
    # The app fixture names the database; an in-cluster database takes its name from the app.
    rendered = app(backups={}, database={})
    db = "shop"
    with postgres.admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(db), sql.Literal(rendered.password)))
        # The official image's POSTGRES_USER may create databases; a restore recreates its own.
        conn.execute(sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(db)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(db)))
    for mount in (backups.DUMP_DIR, backups.PASSWORD_DIR):
        local = tmp_path / mount.strip("/").replace("/", "-")
        local.mkdir()
        kubelet.paths[mount] = local
    (kubelet.paths[backups.PASSWORD_DIR] / "password").write_text(rendered.password)
    env = {
        **os.environ,
        "DATABASE_URL_FILE": str(tmp_path / "url"),
        "SECRET_KEY_FILE": str(tmp_path / "key"),
        "DJANGO_CONFIG_DIR": str(tmp_path),
    }
    (tmp_path / "url").write_text(f"postgres://{db}:{rendered.password}@127.0.0.1:{postgres.port}/{db}")
    (tmp_path / "key").write_text("k" * 50)
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with postgres.admin(db) as conn:
        for row in PRODUCTS:
            conn.execute("INSERT INTO shop_product (name, price_cents, sku) VALUES (%s, %s, %s)", row)
    yield rendered, db
    with postgres.admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))


def local(container, postgres):
    """The container with the database Service pointed at the local server."""
    env = {e["name"]: e.get("value") for e in container["env"]}
    if "PGHOST" in env:
        assert env["PGHOST"] == "shop-postgres.shop.svc.cluster.local" and env["PGPORT"] == "5432"
        container = {
            **container,
            "env": [
                {**e, "value": {"PGHOST": "127.0.0.1", "PGPORT": str(postgres.port)}.get(e["name"], e.get("value"))}
                for e in container["env"]
            ],
        }
    return container


def backup_pod_spec(rendered):
    (cron,) = rendered.run.of_type(":CronJob")
    return cron.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def checksums(postgres, db):
    """Rows and an md5 of every row, per table of the app."""
    with postgres.admin(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        return {
            t: conn.execute(sql.SQL("SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {} x").format(sql.Identifier(t))).fetchone()
            for t in tables
        }


def keys(moto, bucket):
    return sorted(o["Key"] for o in moto.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))


def test_a_dump_uploaded_then_restored_over_a_dropped_database_gives_back_every_row(backed_up, kubelet, postgres, moto):
    rendered, db = backed_up
    before = checksums(postgres, db)
    assert before["shop_product"][0] == len(PRODUCTS) and len(before) >= 5
    spec = backup_pod_spec(rendered)
    (dump,) = spec["initContainers"]
    (upload,) = spec["containers"]
    result = kubelet.run(local(dump, postgres))
    assert result.returncode == 0, result.stderr
    result = kubelet.run(upload)
    assert result.returncode == 0, result.stderr
    env = {e["name"]: e.get("value") for e in upload["env"]}
    bucket, prefix = env["BACKUP_BUCKET"], env["BACKUP_PREFIX"]
    uploaded = keys(moto, bucket)
    assert len(uploaded) == 1 and uploaded[0].startswith(f"{prefix}/") and "/incoming/" not in uploaded[0]

    with postgres.admin() as conn:  # the volume is lost
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db)))
    for leftover in kubelet.paths[backups.DUMP_DIR].iterdir():
        leftover.unlink()

    # An upload interrupted after the first copy: newer by name, never a candidate.
    moto.client("s3").put_object(Bucket=bucket, Key=f"{prefix}/incoming/29991231T000000Z.dump", Body=b"PGDMP partial")

    settings = normalise("shop", rendered.args)
    refs = AwsRefs(bucket=bucket, region=env["AWS_REGION"], secret_ids={}, role_arn=env["AWS_ROLE_ARN"])
    job = backup_pod.restore_job(settings, refs)["spec"]["template"]["spec"]
    (download,), (restore,) = job["initContainers"], job["containers"]
    result = kubelet.run(download)
    assert result.returncode == 0, result.stderr
    assert uploaded[0] in result.stdout, "the newest backup is the one restored"
    result = kubelet.run(local(restore, postgres))
    assert result.returncode == 0, result.stderr
    assert checksums(postgres, db) == before


def test_a_failing_dump_uploads_nothing(backed_up, kubelet, postgres, moto):
    rendered, _ = backed_up
    spec = backup_pod_spec(rendered)
    (dump,), (upload,) = spec["initContainers"], spec["containers"]
    (kubelet.paths[backups.PASSWORD_DIR] / "password").write_text("wrong")
    result = kubelet.run(local(dump, postgres))
    assert result.returncode != 0
    assert not (kubelet.paths[backups.DUMP_DIR] / "dump").exists()
    # Even if the upload step were started, it finds no complete dump and uploads nothing.
    result = kubelet.run(upload)
    assert result.returncode == 1 and "nothing uploaded" in result.stderr
    bucket = {e["name"]: e.get("value") for e in upload["env"]}["BACKUP_BUCKET"]
    assert keys(moto, bucket) == []


def test_a_partial_dump_never_becomes_a_backup(backed_up, kubelet, moto):
    rendered, _ = backed_up
    (upload,) = backup_pod_spec(rendered)["containers"]
    (kubelet.paths[backups.DUMP_DIR] / "dump.partial").write_bytes(b"PGDMP half an archive")
    result = kubelet.run(upload)
    assert result.returncode == 1
    bucket = {e["name"]: e.get("value") for e in upload["env"]}["BACKUP_BUCKET"]
    assert keys(moto, bucket) == []


def test_the_restore_finds_no_backup_in_an_empty_prefix_and_changes_nothing(backed_up, kubelet, postgres):
    rendered, db = backed_up
    before = checksums(postgres, db)
    (upload,) = backup_pod_spec(rendered)["containers"]
    env = {e["name"]: e.get("value") for e in upload["env"]}
    refs = AwsRefs(bucket=env["BACKUP_BUCKET"], region=env["AWS_REGION"], secret_ids={}, role_arn=env["AWS_ROLE_ARN"])
    (download,) = backup_pod.restore_job(normalise("shop", rendered.args), refs)["spec"]["template"]["spec"]["initContainers"]
    result = kubelet.run(download)
    assert result.returncode == 1 and "no backup found" in result.stderr
    assert checksums(postgres, db) == before
