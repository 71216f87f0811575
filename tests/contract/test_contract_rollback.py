"""The rollback gate as rendered, run for real on PostgreSQL with the example app: an image
older than the applied schema is refused, once per release, before its pods roll out; a pod of
the previous release that restarts after a roll-forward still starts.

An "image" here is a copy of the example app: the previous release is the copy without the newest
migration (shop 0003), as an image built before it was written."""

from __future__ import annotations

import shutil

import pytest

from .kubelet import APP_DIR
from .test_contract_pod import applied_migrations, prepare

NEWEST = "0003_taskrun"


@pytest.fixture
def previous_image(tmp_path):
    """The example app as it was before its newest migration."""
    copy = tmp_path / "previous-image"
    shutil.copytree(APP_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "staticfiles"))
    (copy / "shop" / "migrations" / f"{NEWEST}.py").unlink()
    return copy


def gate_pod(rendered):
    (job,) = [j for j in rendered.run.of_type("batch/v1:Job") if j.name == "shop-release-gate"]
    return job.inputs["spec"]["template"]["spec"]


def migration_job_pod(rendered):
    (job,) = [j for j in rendered.run.of_type("batch/v1:Job") if j.name == "shop-migration-job"]
    return job.inputs["spec"]["template"]["spec"]


def rolled_forward(app, kubelet, postgres, **args):
    """The current image deployed: its migrate step (or migration Job) has applied everything."""
    rendered = app(**args)
    pod = migration_job_pod(rendered) if args.get("migrations") == "job" else None
    prepare(rendered, kubelet, pod)
    result = kubelet.run(rendered.container("migrate", pod))
    assert result.returncode == 0, result.stderr
    assert ("shop", NEWEST) in applied_migrations(
        postgres, rendered.args["database"]["database_name"]
    )
    return rendered


def test_a_rollback_below_the_applied_schema_is_refused_with_the_migrations_named(
    app, kubelet, postgres, previous_image
):
    rendered = rolled_forward(app, kubelet, postgres)
    kubelet.app_dir = previous_image
    result = kubelet.run(rendered.container("release-gate", gate_pod(rendered)))
    assert result.returncode == 4
    assert f"does not know: shop.{NEWEST}" in result.stderr


def test_a_rollback_to_an_image_that_knows_every_applied_migration_can_start(
    app, kubelet, postgres
):
    rendered = rolled_forward(app, kubelet, postgres)
    result = kubelet.run(rendered.container("release-gate", gate_pod(rendered)))
    assert result.returncode == 0, result.stderr
    assert "knows every applied migration" in result.stdout


def test_a_restarted_pod_of_the_previous_release_can_start_after_a_roll_forward(
    app, kubelet, postgres, previous_image
):
    rendered = rolled_forward(app, kubelet, postgres)
    # The old ReplicaSet's pod: its own migrate step (init-container mode), then gunicorn's app.
    kubelet.app_dir = previous_image
    result = kubelet.run(rendered.container("migrate"))
    assert result.returncode == 0, result.stderr
    assert "rollback-gate" not in result.stdout + result.stderr


def test_the_migration_job_of_an_older_image_cannot_complete(
    app, kubelet, postgres, previous_image
):
    rendered = rolled_forward(app, kubelet, postgres, migrations="job")
    pod = migration_job_pod(rendered)
    kubelet.app_dir = previous_image
    result = kubelet.run(rendered.container("migrate", pod))
    assert result.returncode == 4 and f"shop.{NEWEST}" in result.stderr
    assert not [j for j in rendered.run.of_type("batch/v1:Job") if j.name == "shop-release-gate"]


def test_with_the_gate_off_an_older_image_can_migrate_and_start(
    app, kubelet, postgres, previous_image
):
    rendered = rolled_forward(app, kubelet, postgres, migrations="job", rollback_gate=False)
    kubelet.app_dir = previous_image
    result = kubelet.run(rendered.container("migrate", migration_job_pod(rendered)))
    assert result.returncode == 0, result.stderr
