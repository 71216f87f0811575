"""One-off commands (`python -m pulumi_djangoapp.run`): a Job or a Pod with the app's plumbing,
never migrating. Its steps run for real in tests/contract/test_contract_run.py."""

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from test_policy import violations
from test_stack_config import run_stack, stack_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policy"))
import validators

ROLE = "arn:aws:iam::222222222222:role/shop-fetch-role-1"
SECRETS = {
    key: f"arn:aws:secretsmanager:eu-west-3:222222222222:secret:shop-staging/shop/{key}-AbCdEf"
    for key in (
        "database.json",
        "database-url",
        "secret-key",
        "broker-url",
        "cache-url",
        "email-url",
    )
}
OUTPUTS = {"bucket_name": "shop-config-bucket-1", "role_arn": ROLE, "secret_arns": SECRETS}
COMMAND = ["python", "manage.py", "clearsessions"]
WORKLOAD_CHECKS = (
    validators.containers_restricted,
    validators.no_secret_in_plain_env,
    validators.images_pinned,
    validators.app_has_no_cloud_credentials,
)


def run_tool(root, tmp_path, *args, outputs=OUTPUTS):
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    return subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.run", "--stack", "staging",
         "--outputs", str(tmp_path / "outputs.json"), "--out", str(tmp_path / "run.yaml"), *args],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def written(tmp_path):
    return yaml.safe_load((tmp_path / "run.yaml").read_text())


def containers(spec):
    return [*spec["initContainers"], *spec["containers"]]


def test_a_one_off_job_runs_the_command_after_the_apps_preparation_and_never_migrates(
    root, tmp_path
):
    result = run_tool(root, tmp_path, "--name", "shop-run-1", "--", *COMMAND)
    assert result.returncode == 0, result.stderr
    job = written(tmp_path)
    for version in ("1.32.0", "1.37.0"):
        kubernetes_validate.validate(job, version, strict=True)
    for check in WORKLOAD_CHECKS:
        assert violations(check, "kubernetes:batch/v1:Job", job) == [], check.__name__
    spec = job["spec"]["template"]["spec"]
    # The app's native sidecar (staging's log shipper) first, as in every app pod.
    assert [c["name"] for c in containers(spec)] == [
        "log-shipper", "fetch-config", "fetch-secrets", "wait-for-db", "wait-for-migrations", "run",
    ]  # fmt: skip
    (run,) = spec["containers"]
    assert run["command"] == COMMAND
    assert spec["serviceAccountName"] == "shop" and spec["restartPolicy"] == "Never"
    assert (job["spec"]["backoffLimit"], job["spec"]["ttlSecondsAfterFinished"]) == (0, 86400)
    assert job["spec"]["activeDeadlineSeconds"] == 3600
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "run"
    step = next(c for c in spec["initContainers"] if c["name"] == "fetch-secrets")
    fetch = {e["name"]: e["value"] for e in step["env"]}
    assert (
        fetch["DATABASE_URL_SECRET_ID"] == SECRETS["database-url"] and fetch["AWS_ROLE_ARN"] == ROLE
    )
    assert "DJANGO_MEDIA_BUCKET" not in {e["name"] for e in run["env"]}, "no media role"
    assert "kubectl apply -f" in result.stdout and "logs -f job/shop-run-1 -c run" in result.stdout


def test_an_interactive_one_off_is_a_pod_to_attach_to(root, tmp_path):
    result = run_tool(
        root,
        tmp_path,
        "--interactive",
        "--name",
        "shop-shell",
        "--",
        "python",
        "manage.py",
        "shell",
    )
    assert result.returncode == 0, result.stderr
    pod = written(tmp_path)
    kubernetes_validate.validate(pod, "1.32.0", strict=True)
    for check in WORKLOAD_CHECKS:
        assert violations(check, "kubernetes:core/v1:Pod", pod) == [], check.__name__
    (run,) = pod["spec"]["containers"]
    assert (run["stdin"], run["tty"]) == (True, True)
    assert "attach -it pod/shop-shell -c run" in result.stdout


@pytest.mark.parametrize(
    "args, outputs, message",
    [
        ((), OUTPUTS, "give the command after --"),
        (("--deadline", "5", "--", "true"), OUTPUTS, "must be 60 to 86400"),
        (("--", "true"), {"bucket_name": "b", "role_arn": ROLE}, "lack secret_arns"),
        (("--", "true"), {**OUTPUTS, "secret_arns": {"database.json": "x"}}, "no secret for"),
        (("--name", "x" * 64, "--", "true"), OUTPUTS, "longer than 63"),
    ],
)
def test_a_one_off_cannot_be_written_without_what_it_needs(root, tmp_path, args, outputs, message):
    result = run_tool(root, tmp_path, *args, outputs=outputs)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "run.yaml").exists()


def test_the_component_keeps_a_network_policy_for_one_offs_that_the_database_admits(root):
    run = run_stack(root, stack_config(root, "staging"))
    policies = {r.name: r.inputs["spec"] for r in run.of_type("NetworkPolicy")}
    selector = policies["shop-netpol-run"]["podSelector"]["matchLabels"]
    assert selector["app.kubernetes.io/component"] == "run"
    clients = policies["shop-netpol-postgres"]["ingress"][0]["from"]
    assert any(c["podSelector"]["matchLabels"] == selector for c in clients)
