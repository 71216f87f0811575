"""The review diff on known before/after pairs: what changes, what is replaced, what holds data."""

import json
import subprocess
import sys

import pytest
import yaml

from pulumi_djangoapp.tools import diff, render


def _render(root, tmp_path, label, *overrides, program=None, start=None):
    out = tmp_path / label
    result = render.render(
        program,
        "prod" if program is None and start is None else "dev",
        list(overrides),
        start=start or root,
    )
    render.write(result, out)
    return out


@pytest.fixture(scope="module")
def prod(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("prod-before")
    render.write(render.render(None, "prod", start=root), out)
    return out


def by_name(changes):
    return {c.name: c for c in changes}


def test_an_image_bump_changes_the_pods_in_place(root, tmp_path, prod):
    after = _render(root, tmp_path, "after", "djangoapp:image=ghcr.io/example/django-shop:0.2.0")
    changes = by_name(diff.diff(prod, after))
    web = changes["shop-deployment"]
    assert web.action == "changed" and not web.replaced_by
    assert (
        "spec.template.spec.containers[django].image",
        "ghcr.io/example/django-shop:0.1.0",
        "ghcr.io/example/django-shop:0.2.0",
    ) in web.fields
    assert {"shop-process-worker", "shop-process-beat", "shop-schedule-clearsessions"} <= set(
        changes
    )
    # Only the rollback gate's Job is replaced: one per image, by design (builders/release_gate.py).
    assert [n for n, c in changes.items() if c.replaced_by] == ["shop-release-gate"]
    assert "shop-postgres" not in changes


def test_a_bigger_database_volume_patches_the_claim_and_the_template_change_is_ignored(
    root, tmp_path
):
    # staging keeps PostgreSQL in the cluster (prod is on RDS).
    before, after = tmp_path / "before", tmp_path / "after"
    render.write(render.render(None, "staging", start=root), before)
    render.write(
        render.render(None, "staging", ["djangoapp:databaseStorageSize=200Gi"], start=root), after
    )
    changes = by_name(diff.diff(before, after))
    statefulset = changes["shop-postgres"]
    assert (
        statefulset.ignored == ["spec.volumeClaimTemplates"]
        and not statefulset.replaced_by
        and not statefulset.loud
    )
    claim = changes["shop-postgres-data"]
    assert (
        claim.fields == [("spec.resources.requests.storage", "10Gi", "200Gi")]
        and not claim.replaced_by
    )


def test_moving_prod_off_rds_is_said_loudly_as_data_that_would_be_removed_or_replaced(
    root, tmp_path, prod
):
    after = tmp_path / "in-cluster"
    overrides = ["djangoapp:databaseProvider=in-cluster", "djangoapp:databaseSubnetIds=[]", "djangoapp:databaseClientSecurityGroupIds=[]",
                 "djangoapp:databaseInstanceClass=db.t4g.medium", "djangoapp:databaseAllocatedStorageGb=20",
                 "djangoapp:databaseMaxAllocatedStorageGb=100", "djangoapp:databaseBackupRetentionDays=7"]  # fmt: skip
    render.write(render.render(None, "prod", overrides, start=root), after)
    changes = by_name(diff.diff(prod, after))
    assert (
        changes["shop-database-instance"].action == "removed"
        and changes["shop-database-instance"].loud
    )
    marker = changes["shop-database-provider"]
    assert marker.replaced_by and marker.loud, (
        "the protected marker's replacement is what preview refuses"
    )
    assert changes["shop-postgres"].action == "added"


def test_a_major_upgrade_replaces_the_parameter_group_and_changes_the_instance_in_place(
    root, tmp_path, prod
):
    after = tmp_path / "pg18"
    render.write(
        render.render(None, "prod", ["djangoapp:databaseEngineVersion=18"], start=root), after
    )
    changes = by_name(diff.diff(prod, after))
    assert "family" in changes["shop-database-params"].replaced_by
    instance = changes["shop-database-instance"]
    assert ("engineVersion", "17", "18") in instance.fields and not instance.replaced_by


def test_a_new_release_replaces_the_migration_job(tmp_path):
    project = tmp_path / "jobs"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        "name: jobs\nruntime: python\nconfig:\n  tag:\n    type: string\n    default: '1.0.0'\n"
    )
    (project / "__main__.py").write_text(
        "import pulumi\nfrom pulumi_djangoapp import DjangoApp\n"
        "tag = pulumi.Config().get('tag')\n"
        "DjangoApp('shop', {'image': f'ghcr.io/acme/shop:{tag}', 'secrets_backend': 'kubernetes', 'migrations': 'job'})\n"
    )
    for label, tag in (("before", "1.0.0"), ("after", "1.1.0")):
        render.write(
            render.render(None, "dev", [f"jobs:tag={tag}"], start=project), tmp_path / label
        )
    job = by_name(diff.diff(tmp_path / "before", tmp_path / "after"))["shop-migration-job"]
    assert "metadata.name" in job.replaced_by and not job.loud


def test_a_changed_selector_is_a_replacement(tmp_path, prod):
    changed = tmp_path / "changed"
    changed.mkdir()
    for f in prod.iterdir():
        (changed / f.name).write_bytes(f.read_bytes())
    docs = [d for d in yaml.safe_load_all((prod / "kubernetes.yaml").read_text()) if d]
    for d in docs:
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "shop":
            d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] = "frontend"
    (changed / "kubernetes.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    web = by_name(diff.diff(prod, changed))["shop-deployment"]
    assert web.replaced_by == ["spec.selector.matchLabels.app.kubernetes.io/component"]
    assert "REPLACE (estimate)" in diff.text([web])


def test_removing_what_holds_data_is_said_loudly_in_text_and_markdown(root, tmp_path, prod):
    after = _render(root, tmp_path, "after", "djangoapp:broker=none")
    changes = diff.diff(prod, after)
    loud = {c.name for c in changes if c.loud}
    assert {
        "shop-broker",
        "shop-broker-data",
        "shop-secrets-broker-password",
        "shop-secrets-broker-url",
    } <= loud
    assert "shop-broker-service" not in loud, "a Service holds no data"
    assert "!! HOLDS DATA: removed !!" in diff.text(changes)
    md = diff.markdown(changes)
    assert (
        "[!CAUTION]" in md and "**shop-broker** (StatefulSet) holds data and would be removed" in md
    )
    assert md.count("| ➖ |") == sum(1 for c in changes if c.action == "removed")


def test_the_same_render_twice_has_no_changes(tmp_path, prod):
    assert diff.diff(prod, prod) == []
    assert diff.text([]) == "No changes." and "No changes" in diff.markdown([])


def test_the_cli_prints_the_diff_and_writes_markdown(root, tmp_path, prod):
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.render", "--stack", "prod", "--out", str(tmp_path / "new"),
         "--set", "djangoapp:replicas=4", "--diff", str(prod), "--markdown", str(tmp_path / "diff.md")],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "~ shop-deployment (Deployment)" in result.stdout
        and "spec.replicas: 3 -> 4" in result.stdout
    )
    assert "`shop-deployment`" in (tmp_path / "diff.md").read_text()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "pulumi_djangoapp.render",
            "--stack",
            "prod",
            "--out",
            str(tmp_path / "x"),
            "--diff",
            str(tmp_path),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "not a render folder" in bad.stderr


def test_base_renders_the_ref_with_its_own_make_in_its_own_worktree_then_diffs(
    root, tmp_path, prod, monkeypatch, capsys
):
    """The orchestration of --base (the real `make` of a base commit builds a venv: exercised by
    the pull-request workflow, not here): which commit, where, with whose Makefile."""
    import shutil

    calls = []
    real_run = subprocess.run

    def fake_run(argv, **kwargs):
        calls.append(list(argv))
        if argv[0] == "make":
            tree = Path(argv[2])
            shutil.copytree(prod, tree / "out" / "prod")
            return subprocess.CompletedProcess(argv, 0, "", "")
        if argv[:3] == ["git", "worktree", "add"]:
            Path(argv[4]).mkdir(parents=True)
            return subprocess.CompletedProcess(argv, 0, "", "")
        return real_run(argv, **kwargs)

    from pathlib import Path

    monkeypatch.setattr(render.subprocess, "run", fake_run)
    monkeypatch.chdir(root)
    sha = real_run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    tree = root / "build" / f"base-{sha[:12]}"
    shutil.rmtree(tree, ignore_errors=True)
    try:
        code = render.main(
            [
                "--stack",
                "prod",
                "--out",
                str(tmp_path / "new"),
                "--set",
                "djangoapp:replicas=5",
                "--base",
                "HEAD",
            ]
        )
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    assert code == 0
    assert ["git", "worktree", "add", "--detach", str(tree), sha] in calls
    assert ["make", "-C", str(tree), "render", "STACK=prod"] in calls
    assert "spec.replicas: 3 -> 5" in capsys.readouterr().out


def test_base_with_an_unknown_ref_is_a_one_line_error(root, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_djangoapp.render", "--stack", "prod", "--out", str(tmp_path), "--base", "no-such-ref-xyz"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and result.stderr.startswith(
        "render: --base no-such-ref-xyz: git rev-parse"
    )


def test_a_claim_patch_is_updated_in_place_not_replaced():
    # pulumi-kubernetes provider.go Diff: a Patch resource is replaced only for a new name or
    # namespace; the class a 0.2 patch carried and today's does not is an in-place update.
    from pulumi_djangoapp.tools.diff import replacing_fields

    kind = "kubernetes:core/v1:PersistentVolumeClaimPatch"
    old = {
        "metadata": {"name": "data-shop-postgres-0"},
        "spec": {"storageClassName": "gp3", "resources": {}},
    }
    new = {"metadata": {"name": "data-shop-postgres-0"}, "spec": {"resources": {}}}
    assert replacing_fields(kind, old, new, {}) == []


def test_a_claim_patch_of_another_claim_cannot_be_called_in_place():
    from pulumi_djangoapp.tools.diff import replacing_fields

    kind = "kubernetes:core/v1:PersistentVolumeClaimPatch"
    old = {"metadata": {"name": "data-shop-postgres-0"}}
    assert replacing_fields(kind, old, {"metadata": {"name": "data-web-postgres-0"}}, {}) == [
        "metadata.name"
    ]


def _render_folder(folder, resources, objects=(), cloud=()):
    folder.mkdir(parents=True)
    (folder / "resources.yaml").write_text(yaml.safe_dump(resources))
    (folder / "kubernetes.yaml").write_text(yaml.safe_dump_all(list(objects)))
    (folder / "aws.json").write_text(json.dumps(list(cloud)))
    return folder


URN = (
    "urn:pulumi:prod::djangoapp::djangoapp:index:DjangoApp$kubernetes:core/v1:Service::shop-service"
)
SERVICE = {
    "kind": "Service",
    "metadata": {"name": "shop", "namespace": "shop"},
    "spec": {"ports": [{"port": 80}]},
}


def _service(urn=URN, **extra):
    return {"name": "shop-service", "type": "kubernetes:core/v1:Service", "urn": urn, "custom": True,
            "object": "Service shop/shop", "options": {}, **extra}  # fmt: skip


def test_a_new_parent_is_a_new_urn_the_diff_shows_as_delete_and_create(tmp_path):
    # #29: keyed by name, a resource moved under another parent printed "No changes".
    moved = URN.replace(
        "djangoapp:index:DjangoApp$", "djangoapp:index:DjangoApp$djangoapp:index:Web$"
    )
    before = _render_folder(tmp_path / "a", [_service()], [SERVICE])
    after = _render_folder(tmp_path / "b", [_service(moved)], [SERVICE])
    assert sorted(c.action for c in diff.diff(before, after)) == ["added", "removed"]


def test_the_same_urn_and_inputs_cannot_show_a_change(tmp_path):
    before = _render_folder(tmp_path / "a", [_service()], [SERVICE])
    after = _render_folder(tmp_path / "b", [_service()], [SERVICE])
    assert diff.diff(before, after) == []


def test_a_provider_change_and_a_changed_secret_show_without_the_secret(tmp_path):
    before = _render_folder(
        tmp_path / "a", [_service(secrets={"stringData.password": "aaaa"})], [SERVICE]
    )
    after_entry = _service(
        secrets={"stringData.password": "bbbb"}, options={"provider": "kubernetes"}
    )
    after = _render_folder(tmp_path / "b", [after_entry], [SERVICE])
    (change,) = diff.diff(before, after)
    fields = {path: (old, new) for path, old, new in change.fields}
    assert fields["(provider)"] == ("default", "kubernetes")
    assert fields["stringData.password (secret)"] == ("[secret]", "[secret, changed]")
    assert "aaaa" not in diff.text([change]) and "bbbb" not in diff.text([change])


def test_a_release_without_resources_yaml_is_compared_from_its_recorded_registrations(tmp_path):
    # --base of a release older than resources.yaml records its registrations with its own code
    # (scripts/upgrade_check.py record); the diff reads them by URN.
    old = tmp_path / "old"
    old.mkdir()
    record = {"urn": URN, "type": "kubernetes:core/v1:Service", "custom": True, "inputs": {**SERVICE, "spec": {"ports": [{"port": 81}]}},
              "provider": None, "ignoreChanges": [], "replaceOnChanges": []}  # fmt: skip
    (old / "registrations.json").write_text(json.dumps([record]))
    new = _render_folder(tmp_path / "new", [_service()], [SERVICE])
    (change,) = diff.diff(old, new)
    assert change.action == "changed" and change.fields[0][0].startswith("spec.ports")
