"""A one-off Job as `python -m pulumi_djangoapp.run` writes it, run for real: fetch steps against
moto, wait-for-db and wait-for-migrations on PostgreSQL, then `manage.py` of the example app."""

from __future__ import annotations

from pulumi_djangoapp.builders import one_off
from pulumi_djangoapp.builders.fetch import AwsRefs
from pulumi_djangoapp.settings import normalise

from .test_contract_pod import prepare


def one_off_pod(rendered, command):
    (outputs,) = [o for urn, o in rendered.run.outputs.items() if urn.endswith("DjangoApp::shop")]
    s = normalise("shop", rendered.args)
    refs = AwsRefs(
        bucket=outputs["bucket_name"],
        region="us-east-1",
        secret_ids=outputs["secret_arns"],
        role_arn=outputs["role_arn"],
    )
    return one_off.job(s, refs, "shop-run-1", command)["spec"]["template"]["spec"]


def test_a_one_off_command_runs_with_the_apps_files_after_migrations(app, kubelet):
    rendered = app(
        migrations_wait_timeout_seconds=5, processes=[{"name": "w", "command": ["true"]}]
    )
    pod = one_off_pod(rendered, ["python", "manage.py", "showmigrations", "shop"])
    prepare(rendered, kubelet, pod)
    assert kubelet.run(rendered.container("migrate")).returncode == 0
    gate = kubelet.run(rendered.container("wait-for-migrations", pod), timeout=60)
    assert gate.returncode == 0, gate.stderr
    result = kubelet.run(rendered.container("run", pod))
    assert result.returncode == 0, result.stderr
    assert "[X] 0001_initial" in result.stdout


def test_a_one_off_command_cannot_start_before_the_migrations(app, kubelet):
    rendered = app(
        migrations_wait_timeout_seconds=2, processes=[{"name": "w", "command": ["true"]}]
    )
    pod = one_off_pod(rendered, ["python", "manage.py", "showmigrations"])
    prepare(rendered, kubelet, pod)
    gate = kubelet.run(rendered.container("wait-for-migrations", pod), timeout=60)
    assert gate.returncode == 1 and "migrations still unapplied" in gate.stderr
    assert "migrate" not in [c["name"] for c in [*pod["initContainers"], *pod["containers"]]]
