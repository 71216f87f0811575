"""The pipeline files, checked against the GitHub workflow schema and for what they promise."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = ("ci.yml", "preview.yml", "preview-comment.yml")


def load(root, name):
    return yaml.safe_load((root / ".github" / "workflows" / name).read_text())


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_matches_the_github_workflow_schema(root, name):
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(root / ".github" / "workflows" / name)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps: not-a-list\n"
    )
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


def test_ci_runs_make_test_on_push_and_pull_request(root):
    ci = load(root, "ci.yml")
    assert {"push", "pull_request"} <= set(ci[True] if True in ci else ci["on"])
    steps = " ".join(s.get("run", "") for s in ci["jobs"]["test"]["steps"])
    assert "bash .ci/run" in steps and "make validate" in steps
    assert "make test" in (root / ".ci" / "run").read_text()
    assert ci["permissions"] == {"contents": "read"}


def test_preview_renders_per_stack_then_previews_with_the_policy_pack(root):
    preview = load(root, "preview.yml")
    assert preview["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    render, pulumi_job = preview["jobs"]["render"], preview["jobs"]["preview"]
    assert render["permissions"] == {"contents": "read"}  # forks: no token, no cloud
    assert (
        render["strategy"]["matrix"]["stack"]
        == pulumi_job["strategy"]["matrix"]["stack"]
        == ["dev", "staging", "prod"]
    )
    (action,) = [
        s for s in pulumi_job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")
    ]
    assert action["with"]["command"] == "preview"
    assert action["with"]["comment-on-pr"] is True
    assert action["with"]["policyPacks"] == "policy"
    assert "${{ matrix.stack }}" in action["with"]["stack-name"]
    (aws,) = [
        s
        for s in pulumi_job["steps"]
        if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")
    ]
    assert "role-to-assume" in aws["with"] and "aws-access-key-id" not in aws["with"]
    assert "head.repo.full_name == github.repository" in pulumi_job["if"]


def test_ci_keeps_setup_pythons_interpreter_under_sudo(root):
    # sudo resets PATH to secure_path (even with --preserve-env=PATH), which drops the Python
    # that actions/setup-python put first on PATH: every sudo step passes PATH through env.
    ci = load(root, "ci.yml")
    sudo_steps = [
        s["run"] for s in ci["jobs"]["test"]["steps"] if s.get("run", "").startswith("sudo")
    ]
    assert sudo_steps
    for command in sudo_steps:
        assert command.startswith('sudo env "PATH=$PATH" '), command


def test_preview_reaches_each_stacks_own_cluster_before_previewing(root):
    steps = load(root, "preview.yml")["jobs"]["preview"]["steps"]
    names = [s.get("uses", "") or s.get("run", "") for s in steps]
    (kubeconfig,) = [i for i, n in enumerate(names) if "aws eks update-kubeconfig" in n]
    (preview,) = [i for i, n in enumerate(names) if n.startswith("pulumi/actions@")]
    assert kubeconfig < preview
    assert (
        '--alias "$context"' in names[kubeconfig]
        and "scripts/stack_cluster.py" in names[kubeconfig]
    )


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_previewed_stack_names_cluster_context_and_region(root, stack):
    result = subprocess.run(
        [sys.executable, str(root / "scripts" / "stack_cluster.py"), stack],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    cluster, context, region = result.stdout.split()
    assert (cluster, context, region) == (f"shop-{stack}", f"shop-{stack}", "eu-west-3")


def test_a_stack_without_its_cluster_is_a_clear_error(root, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  djangoapp:kubeContext: c\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "__main__.py").write_text("")
    sys.path.insert(0, str(root / "scripts"))
    try:
        import stack_cluster
    finally:
        sys.path.pop(0)
    from pulumi_djangoapp.tools import runner

    with pytest.raises(runner.ProgramError, match="eksClusterName"):
        stack_cluster.cluster_of(tmp_path, "x")


def test_the_render_job_diffs_against_the_base_rendered_with_its_own_code(root):
    render_job = load(root, "preview.yml")["jobs"]["render"]
    checkouts = [
        s for s in render_job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")
    ]
    assert any(
        s.get("with", {}).get("ref") == "${{ github.event.pull_request.base.sha }}"
        and s["with"]["path"] == "base"
        for s in checkouts
    )
    runs = " ".join(s.get("run", "") for s in render_job["steps"])
    assert "make -C base render" in runs, "the base's own Makefile, venv and package"
    assert "DIFF=base/out/" in runs and "GITHUB_STEP_SUMMARY" in runs
    assert render_job["permissions"] == {"contents": "read"}


def test_fork_pull_requests_get_their_comment_without_their_code_running_with_write_rights(root):
    comment = load(root, "preview-comment.yml")
    on = comment[True] if True in comment else comment["on"]
    assert on == {"workflow_run": {"workflows": ["preview"], "types": ["completed"]}}
    assert (
        comment["permissions"]["pull-requests"] == "write"
        and comment["permissions"]["contents"] == "read"
    )
    steps = comment["jobs"]["comment"]["steps"]
    assert not any(str(s.get("uses", "")).startswith("actions/checkout") for s in steps), (
        "never checks out PR code"
    )
    assert not any("make" in s.get("run", "") or "python" in s.get("run", "") for s in steps)
    script = " ".join(s.get("run", "") for s in steps)
    assert '--search "$HEAD_SHA"' in script, (
        "the PR number comes from the head commit, not the artifact"
    )
