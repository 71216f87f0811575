"""Backups as rendered, run for real: the dump with PostgreSQL's own tools, the upload and the
restore's download with the AWS CLI against moto, the restore over a dropped database.

Stand-ins beyond the kubelet's: the database Service name is pointed at the local server (the
test checks the name first), and the dump volume and the password file are temporary folders."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from psycopg import sql

from pulumi_djangoapp.builders import backups
from pulumi_djangoapp.builders import backups as backup_pod
from pulumi_djangoapp.builders.fetch import AwsRefs
from pulumi_djangoapp.settings import normalise

from .kubelet import APP_DIR
from .services import IamMoto, aws_cli_v2

PRODUCTS = [("Tea", 450, "T-1"), ("Coffee", 390, "C-1"), ("Cake", 600, None)]


@pytest.fixture
def backup_args():
    """The app's ``backups`` argument (a module may ask for more, a restore drill)."""
    return {}


@pytest.fixture
def backed_up(app, kubelet, postgres, tmp_path, backup_args):
    """An app with backups, its in-cluster database played by the local server, migrated and
    holding the example app's rows."""
    # The app fixture names the database; an in-cluster database takes its name from the app.
    rendered = app(backups=backup_args, database={})
    db = "shop"
    with postgres.admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db,)).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(db), sql.Literal(rendered.password)
                )
            )
        # The official image's POSTGRES_USER may create databases; a restore recreates its own.
        conn.execute(sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(db)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(db))
        )
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
    (tmp_path / "url").write_text(
        f"postgres://{db}:{rendered.password}@127.0.0.1:{postgres.port}/{db}"
    )
    (tmp_path / "key").write_text("k" * 50)
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with postgres.admin(db) as conn:
        for row in PRODUCTS:
            conn.execute(
                "INSERT INTO shop_product (name, price_cents, sku) VALUES (%s, %s, %s)", row
            )
    yield rendered, db
    with postgres.admin() as conn:
        # The database and whatever a restore kept or left beside it.
        names = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname = %s OR datname LIKE %s",
                (db, f"{db}\\_%"),
            )
        ]
        for name in names:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def local(container, postgres):
    """The container with the database Service pointed at the local server."""
    env = {e["name"]: e.get("value") for e in container["env"]}
    if "PGHOST" in env:
        assert env["PGHOST"] == "shop-postgres.shop.svc.cluster.local" and env["PGPORT"] == "5432"
        container = {
            **container,
            "env": [
                {
                    **e,
                    "value": {"PGHOST": "127.0.0.1", "PGPORT": str(postgres.port)}.get(
                        e["name"], e.get("value")
                    ),
                }
                for e in container["env"]
            ],
        }
    return container


def backup_pod_spec(rendered):
    return rendered.schedule_pod("backup")


def checksums(postgres, db):
    """Rows and an md5 of every row, per table of the app."""
    with postgres.admin(db) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            t: conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {} x"
                ).format(sql.Identifier(t))
            ).fetchone()
            for t in tables
        }


def keys(moto, bucket):
    return sorted(
        o["Key"] for o in moto.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    )


def test_a_dump_uploaded_then_restored_over_a_dropped_database_gives_back_every_row(
    backed_up, kubelet, postgres, moto
):
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
    assert (
        len(uploaded) == 1
        and uploaded[0].startswith(f"{prefix}/")
        and "/incoming/" not in uploaded[0]
    )

    with postgres.admin() as conn:  # the volume is lost
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db)))
    for leftover in kubelet.paths[backups.DUMP_DIR].iterdir():
        leftover.unlink()

    # An upload interrupted after the first copy: newer by name, never a candidate.
    moto.client("s3").put_object(
        Bucket=bucket, Key=f"{prefix}/incoming/29991231T000000Z.dump", Body=b"PGDMP partial"
    )

    settings = normalise("shop", rendered.args)
    refs = AwsRefs(
        bucket=bucket, region=env["AWS_REGION"], secret_ids={}, role_arn=env["AWS_ROLE_ARN"]
    )
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


def test_the_restore_finds_no_backup_in_an_empty_prefix_and_changes_nothing(
    backed_up, kubelet, postgres
):
    rendered, db = backed_up
    before = checksums(postgres, db)
    (upload,) = backup_pod_spec(rendered)["containers"]
    env = {e["name"]: e.get("value") for e in upload["env"]}
    refs = AwsRefs(
        bucket=env["BACKUP_BUCKET"],
        region=env["AWS_REGION"],
        secret_ids={},
        role_arn=env["AWS_ROLE_ARN"],
    )
    (download,) = backup_pod.restore_job(normalise("shop", rendered.args), refs)["spec"][
        "template"
    ]["spec"]["initContainers"]
    result = kubelet.run(download)
    assert result.returncode == 1 and "no backup found" in result.stderr
    assert checksums(postgres, db) == before


# --- aws-cli v2 against S3 with IAM enforced (#25) ----------------------------------------

BALLAST_MIB = 12  # above aws-cli's 8 MiB multipart threshold, incompressible


def ballast(postgres, db, owner):
    """Rows of random bytes, so the compressed dump is larger than the multipart threshold."""
    with postgres.admin(db) as conn:
        conn.execute("CREATE TABLE ballast (id int PRIMARY KEY, data bytea NOT NULL)")
        conn.execute(sql.SQL("ALTER TABLE ballast OWNER TO {}").format(sql.Identifier(owner)))
        conn.execute(
            "INSERT INTO ballast SELECT n, (SELECT string_agg(decode(md5(random()::text || n || i), 'hex'), '') "
            "FROM generate_series(1, 65536) i) FROM generate_series(1, %s) n",
            (BALLAST_MIB,),
        )


@pytest.fixture
def iam_s3(backed_up, tmp_path):
    """A moto server enforcing IAM that holds the backup bucket, the backup role and the restore
    role with the policies exactly as the component registered them; credentials of each by
    AssumeRole (the stand-in for the web-identity or Pod Identity path, which aws-cli 2.9.19
    cannot point at moto). The setup is seven requests, then IAM is enforced."""
    rendered, _ = backed_up
    policies = {
        purpose: rendered.run.one("iam/rolePolicy:RolePolicy", f"shop-{purpose}-policy").inputs[
            "policy"
        ]
        for purpose in ("backup", "restore")
    }
    bucket = (
        json.loads(policies["backup"])["Statement"][0]["Resource"]
        .split(":::", 1)[1]
        .split("/", 1)[0]
    )
    server = IamMoto(setup_calls=7).start()
    try:
        server.client("s3").create_bucket(Bucket=bucket)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam, arns = server.client("iam"), {}
        for purpose, policy in policies.items():
            arns[purpose] = iam.create_role(
                RoleName=f"shop-{purpose}-role", AssumeRolePolicyDocument=json.dumps(trust)
            )["Role"]["Arn"]
            iam.put_role_policy(
                RoleName=f"shop-{purpose}-role",
                PolicyName=f"shop-{purpose}-policy",
                PolicyDocument=policy,
            )
        credentials = {}
        for purpose, arn in arns.items():
            keys = server.client("sts").assume_role(RoleArn=arn, RoleSessionName=f"shop-{purpose}")[
                "Credentials"
            ]
            credentials[purpose] = {
                "aws_access_key_id": keys["AccessKeyId"],
                "aws_secret_access_key": keys["SecretAccessKey"],
                "aws_session_token": keys["SessionToken"],
            }
        yield server, bucket, credentials
    finally:
        server.stop()


def with_credentials(container, server, credentials):
    """The rendered container with the role's credentials in place of its token path and the
    IAM-enforcing server as endpoint; everything else as rendered."""
    replaced = {"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL"}
    env = [e for e in container["env"] if e["name"] not in replaced]
    env += [
        {"name": "AWS_ACCESS_KEY_ID", "value": credentials["aws_access_key_id"]},
        {"name": "AWS_SECRET_ACCESS_KEY", "value": credentials["aws_secret_access_key"]},
        {"name": "AWS_SESSION_TOKEN", "value": credentials["aws_session_token"]},
    ]
    return {**container, "env": env}


def test_the_harness_refuses_an_s3_move_of_8_mib_without_tag_permission_as_aws_does(
    kubelet, tmp_path
):
    """Fidelity: the step every backup ran before #25, with the role it had then (put, get and
    delete under the prefix), fails here as it failed on AWS."""
    bucket, prefix = "shop-backups-old", "shop/shop/postgres"
    old_role = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
    ]}  # fmt: skip
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    server = IamMoto(setup_calls=4).start()
    try:
        server.client("s3").create_bucket(Bucket=bucket)
        arn = server.client("iam").create_role(
            RoleName="old-backup", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
        server.client("iam").put_role_policy(
            RoleName="old-backup", PolicyName="old", PolicyDocument=json.dumps(old_role)
        )
        keys = server.client("sts").assume_role(RoleArn=arn, RoleSessionName="old")["Credentials"]
        credentials = {
            "aws_access_key_id": keys["AccessKeyId"],
            "aws_secret_access_key": keys["SecretAccessKey"],
            "aws_session_token": keys["SessionToken"],
        }
        kubelet.path_prefix = [str(aws_cli_v2(tmp_path, server.endpoint))]
        big = tmp_path / "big"
        big.write_bytes(os.urandom(9 * 1024 * 1024))
        script = (
            f'set -eu\naws s3 cp "$BIG" "s3://$BUCKET/{prefix}/incoming/x.dump" --only-show-errors\n'
            f'aws s3 mv "s3://$BUCKET/{prefix}/incoming/x.dump" "s3://$BUCKET/{prefix}/x.dump" --only-show-errors\n'
        )
        old = {
            "command": ["sh", "-c", script],
            "env": [{"name": "BIG", "value": str(big)}, {"name": "BUCKET", "value": bucket}],
        }
        result = kubelet.run(with_credentials(old, server, credentials))
    finally:
        server.stop()
    assert result.returncode != 0
    assert "GetObjectTagging" in result.stderr and "AccessDenied" in result.stderr


def test_a_dump_above_8_mib_is_uploaded_by_aws_cli_v2_with_only_the_backup_roles_permissions(
    backed_up, iam_s3, kubelet, postgres, tmp_path
):
    rendered, db = backed_up
    server, bucket, roles = iam_s3
    credentials = roles["backup"]
    ballast(postgres, db, db)
    before = checksums(postgres, db)
    spec = backup_pod_spec(rendered)
    (dump,), (upload,) = spec["initContainers"], spec["containers"]
    result = kubelet.run(local(dump, postgres))
    assert result.returncode == 0, result.stderr
    size = (kubelet.paths[backups.DUMP_DIR] / "dump").stat().st_size
    assert size > 8 * 1024 * 1024, f"the dump is {size} bytes: below the multipart threshold"

    kubelet.path_prefix = [str(aws_cli_v2(tmp_path, server.endpoint))]
    result = kubelet.run(with_credentials(upload, server, credentials), timeout=300)
    assert result.returncode == 0, result.stderr
    objects = (
        server.client("s3", roles["restore"])
        .list_objects_v2(Bucket=bucket, Prefix="shop/shop/postgres/")
        .get("Contents", [])
    )
    assert [o["Size"] for o in objects] == [size] and "/incoming/" not in objects[0]["Key"]

    # The backup role cannot delete, read or list what it wrote: S3's lifecycle expires archives.
    s3 = server.client("s3", credentials)
    with pytest.raises(Exception, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=objects[0]["Key"])
    with pytest.raises(Exception, match="AccessDenied"):
        s3.get_object(Bucket=bucket, Key=objects[0]["Key"])

    # ...and the restore (v2, its own read-only role) gets it back over the live database; that
    # role can write nothing.
    reader = server.client("s3", roles["restore"])
    with pytest.raises(Exception, match="AccessDenied"):
        reader.put_object(Bucket=bucket, Key=objects[0]["Key"], Body=b"overwrite")
    env = {e["name"]: e.get("value") for e in upload["env"]}
    refs = AwsRefs(
        bucket=bucket, region=env["AWS_REGION"], secret_ids={}, role_arn=env["AWS_ROLE_ARN"]
    )
    job = backup_pod.restore_job(normalise("shop", rendered.args), refs)["spec"]["template"]["spec"]
    (download,), (restore,) = job["initContainers"], job["containers"]
    for leftover in kubelet.paths[backups.DUMP_DIR].iterdir():
        leftover.unlink()
    assert download_role(job) == "shop-restore"
    result = kubelet.run(with_credentials(download, server, roles["restore"]), timeout=300)
    assert result.returncode == 0, result.stderr
    with postgres.admin(db) as conn:
        conn.execute("DELETE FROM shop_product")  # a bad deploy, after the backup
    result = kubelet.run(local(restore, postgres), timeout=300)
    assert result.returncode == 0, result.stderr
    assert checksums(postgres, db) == before
    kept = databases(postgres, f"{db}_before_")
    assert len(kept) == 1, "the database restored over is kept"
    with postgres.admin(kept[0]) as conn:
        assert conn.execute("SELECT count(*) FROM shop_product").fetchone()[0] == 0


def download_role(job_pod_spec):
    return job_pod_spec["serviceAccountName"]


# --- A restore never drops what it cannot recreate (#25) ----------------------------------


def databases(postgres, prefix):
    with postgres.admin() as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", (prefix + "%",)
            )
        ]


def dumped(backed_up, kubelet, postgres):
    rendered, db = backed_up
    (dump,) = backup_pod_spec(rendered)["initContainers"]
    result = kubelet.run(local(dump, postgres))
    assert result.returncode == 0, result.stderr
    s = normalise("shop", rendered.args)
    refs = AwsRefs(
        bucket="unused",
        region="us-east-1",
        secret_ids={},
        role_arn="arn:aws:iam::123456789012:role/unused",
    )
    (restore,) = backup_pod.restore_job(s, refs)["spec"]["template"]["spec"]["containers"]
    return local(restore, postgres)


def test_a_role_without_createdb_cannot_restore_and_the_live_database_is_untouched(
    backed_up, kubelet, postgres
):
    rendered, db = backed_up
    restore = dumped(backed_up, kubelet, postgres)
    before = checksums(postgres, db)
    with postgres.admin() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} NOCREATEDB").format(sql.Identifier(db)))
    result = kubelet.run(restore)
    assert result.returncode != 0
    assert (
        "permission denied to create database" in result.stderr
        and f"{db} is unchanged" in result.stderr
    )
    assert checksums(postgres, db) == before
    assert (
        databases(postgres, f"{db}_restore_") == [] and databases(postgres, f"{db}_before_") == []
    )


def test_an_archive_whose_locale_the_server_lacks_cannot_restore_and_the_live_database_is_untouched(
    backed_up, kubelet, postgres
):
    rendered, db = backed_up
    restore = dumped(backed_up, kubelet, postgres)
    before = checksums(postgres, db)
    archive = kubelet.paths[backups.DUMP_DIR] / "dump"
    # As after an image change: the archive names a locale this server does not have. The
    # value keeps its length, so the archive's table of contents stays readable.
    data = archive.read_bytes()
    patched, count = re.subn(rb"((?:LOCALE|LC_COLLATE|LC_CTYPE) = ')[^']", rb"\1Q", data)
    assert count >= 1
    archive.write_bytes(patched)
    result = kubelet.run(restore)
    assert result.returncode != 0
    assert "locale" in result.stderr.lower() and f"{db} is unchanged" in result.stderr
    assert checksums(postgres, db) == before
    assert databases(postgres, f"{db}_restore_") == []


def test_a_restore_while_a_writer_is_connected_keeps_the_live_database(
    backed_up, kubelet, postgres
):
    rendered, db = backed_up
    restore = dumped(backed_up, kubelet, postgres)
    before = checksums(postgres, db)
    with postgres.admin(db):  # a writer that was not stopped
        result = kubelet.run(restore)
    assert result.returncode != 0 and "swap failed" in result.stderr
    assert checksums(postgres, db) == before
    (copy,) = databases(postgres, f"{db}_restore_")
    with postgres.admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(copy)))


@pytest.mark.parametrize("cut", [1, 4096])
def test_an_archive_cut_short_fails_the_dumps_check_though_its_table_of_contents_reads(
    backed_up, kubelet, postgres, tmp_path, cut
):
    rendered, db = backed_up
    ballast(postgres, db, db)
    (dump,) = backup_pod_spec(rendered)["initContainers"]
    result = kubelet.run(local(dump, postgres))
    assert result.returncode == 0, result.stderr
    whole = (kubelet.paths[backups.DUMP_DIR] / "dump").read_bytes()
    short = tmp_path / "short.dump"
    short.write_bytes(whole[:-cut])
    env = {"PATH": f"{postgres.bin}:/usr/bin:/bin"}
    listed = subprocess.run(
        ["pg_restore", "--list", str(short)], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, "pg_restore --list passes it: the check it was"
    checked = subprocess.run(
        ["sh", "-c", backups.ARCHIVE_CHECK, "check", str(short)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode != 0
    whole_ok = subprocess.run(
        ["sh", "-c", backups.ARCHIVE_CHECK, "check", str(kubelet.paths[backups.DUMP_DIR] / "dump")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert whole_ok.returncode == 0, whole_ok.stderr
