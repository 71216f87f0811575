"""The upgrade check: what an ``up`` of today's code would do to a stack deployed with each recorded
release (``releases.yaml``), judged from the registrations, never from files a release may lack.

For every release it checks, the release's tree (``git archive`` of its commit) is installed in a
virtualenv of its own from its own requirements (its package under its own name, ``components``
for 0.1), and the representative programs run there and with today's code, each under Pulumi
mocks through today's engine-faithful runner (loaded by path, so it runs with any release's
package): the project's program on every stack file the release shipped, the consumer example and
the API programs of ``tests/upgrade/programs.py``. The check fails when a resource that holds data
would be replaced or deleted, or any URN disappears, unless the release's ``exceptions`` list that
URN with an ``alias`` (today's code aliases it) or a ``migration`` (a step the CHANGELOG gives).

``python scripts/upgrade_check.py`` (``make upgrade``): builds what it needs under build/upgrade/.
``python scripts/upgrade_check.py record ...`` is the inner step, run with a release's Python.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "upgrade"
RUNNER = ROOT / "components" / "pulumi_djangoapp" / "tools" / "runner.py"
RENDER = ROOT / "components" / "pulumi_djangoapp" / "tools" / "render.py"
PROGRAMS = ROOT / "tests" / "upgrade" / "programs.py"


# --- inner step: record one program's registrations ---------------------------------------------


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _plain(value: Any, secret: str) -> Any:
    """Inputs as comparable JSON, as the render shows them: a secret as ``secret`` (its digest is
    recorded apart, ``render.secret_digests``), an unknown as a marker."""
    from pulumi.runtime import rpc

    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return secret
        return {k: _plain(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, secret) for v in value]
    if value == rpc.UNKNOWN:
        return "[unknown]"
    return value


def record(
    project_dir: Path, stack: str, out: Path, references: Path | None, overrides: dict
) -> None:
    from pulumi.runtime import mocks, rpc

    runner = _load(RUNNER, "upgrade_runner")
    outputs = yaml.safe_load(references.read_text()) if references else {}
    registrations: list[dict] = []

    # The render's mocks (loaded by path, like the runner): inputs become state, values only the
    # cloud knows become the same placeholders for every release, StackReferences answer from
    # the references file, getRegion answers the provider's region.
    render = _load(RENDER, "upgrade_render")
    Mocks = render._mocks_class()

    class Monitor(mocks.MockMonitor):
        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
                registrations.append(
                    {
                        "urn": response.urn,
                        "type": request.type,
                        "custom": request.custom,
                        "parent": request.parent or None,
                        "provider": request.provider.rsplit("::", 2)[-2]
                        if request.provider
                        else None,
                        "inputs": _plain(raw, render.SECRET),
                        "secrets": render.secret_digests(raw),
                        "protect": request.protect,
                        "ignoreChanges": list(request.ignoreChanges),
                        "replaceOnChanges": list(request.replaceOnChanges),
                        "aliases": [a for a in getattr(request, "aliasURNs", [])],
                    }
                )
            return response

    project = runner.load_project(project_dir)
    config, secret_keys = runner.stack_config(project, stack)
    mock = Mocks(outputs or {})
    config = {**config, **overrides}
    runner.run(project, stack, config, mock, secret_keys=secret_keys, monitor=Monitor(mock))
    out.write_text(
        json.dumps(sorted(registrations, key=lambda r: r["urn"]), indent=1, sort_keys=True)
    )


# --- the check -----------------------------------------------------------------------------------


def _tree(commit: str) -> Path:
    tree = WORK / commit[:12] / "tree"
    if not (tree / ".extracted").exists():
        archive = subprocess.run(
            ["git", "archive", commit], cwd=ROOT, capture_output=True, check=True
        ).stdout
        tree.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        (tree / ".extracted").touch()
    return tree


def _venv(tree: Path) -> Path:
    """The release's own virtualenv: its requirements, its package under its own name."""
    venv = tree.parent / "venv"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        third_party = [
            line
            for line in (tree / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith(("#", "-e"))
        ]
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", *third_party, "pyyaml"], check=True
        )
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--no-deps", str(tree)], check=True
        )
        (venv / ".installed").touch()
    return python


def _api_projects(base: Path) -> dict[str, Path]:
    """One small project per API program, importing the component under either package name."""
    programs = _load(PROGRAMS, "upgrade_programs").PROGRAMS
    projects = {}
    for name, args in programs.items():
        folder = base / "api" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Pulumi.yaml").write_text("name: djangoapp\nruntime: python\n")
        (folder / "Pulumi.test.yaml").write_text("config:\n  aws:region: eu-west-3\n")
        (folder / "__main__.py").write_text(
            "try:\n    from pulumi_djangoapp import DjangoApp\nexcept ImportError:\n"
            "    from components import DjangoApp\n"
            f"DjangoApp('shop', {args!r})\n"
        )
        projects[name] = folder
    return projects


def _programs(tree: Path) -> list[tuple[str, Path, str, Path | None]]:
    """(label, project folder, stack, stack references) of the representative programs."""
    found = []
    for stack_file in sorted(tree.glob("Pulumi.*.yaml")):
        stack = stack_file.name.split(".")[1]
        found.append((f"stack {stack}", tree, stack, None))
    consumer = tree / "examples" / "consumer"
    if (consumer / "Pulumi.dev.yaml").exists():
        found.append(("consumer dev", consumer, "dev", consumer / "stack-references.dev.yaml"))
    return found


def _record_with(
    python: Path,
    path_entry: Path | None,
    project: Path,
    stack: str,
    references: Path | None,
    out: Path,
    overrides: dict | None = None,
) -> str | None:
    env = {**os.environ, "PYTHONPATH": str(path_entry) if path_entry else ""}
    command = [
        str(python),
        __file__,
        "record",
        str(project),
        stack,
        str(out),
        "--overrides",
        json.dumps(overrides or {}),
    ]
    if references:
        command += ["--references", str(references)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=project)
    return (
        None if result.returncode == 0 else (result.stderr.strip().splitlines() or ["failed"])[-1]
    )


def record_release(
    release: dict,
    tree: Path,
    python: Path,
    project: Path,
    stack: str,
    references: Path | None,
    out: Path,
) -> str | None:
    """Record a program with a release's code: its package first on the path (0.1's ``components``
    lives at the tree's root), its stack values as its users had to write them (``run_with``)."""
    path_entry = tree if (tree / "components" / "__init__.py").exists() else None
    overrides: dict = {}
    if project == tree:
        config = (yaml.safe_load((tree / f"Pulumi.{stack}.yaml").read_text()) or {}).get(
            "config"
        ) or {}
        overrides = {
            key: template.format(config[key])
            for key, template in release.get("run_with", {}).items()
            if key in config
        }
    return _record_with(python, path_entry, project, stack, references, out, overrides)


def releases() -> list[dict]:
    return yaml.safe_load((ROOT / "releases.yaml").read_text())["releases"]


def compare(before: list[dict], after: list[dict], exceptions: dict[str, dict]) -> list[str]:
    """What an up from ``before`` to ``after`` would do that loses data or a resource's identity."""
    diff = _load(ROOT / "components" / "pulumi_djangoapp" / "tools" / "diff.py", "upgrade_diff")
    now = {r["urn"]: r for r in after}
    aliased = {a for r in after for a in r["aliases"]}
    problems = []
    for old in before:
        urn = old["urn"]
        if urn in exceptions:
            continue
        new = now.get(urn)
        kind = (
            old["type"].rsplit(":", 1)[-1] if old["type"].startswith("kubernetes:") else old["type"]
        )
        holds_data = kind in diff.HOLDS_DATA or old["type"] in diff.HOLDS_DATA
        if new is None:
            if urn not in aliased:
                problems.append(
                    f"{urn}: disappears" + (" (HOLDS DATA: deleted)" if holds_data else "")
                )
            continue
        if not holds_data or not old["custom"]:
            continue
        replaced = diff.replacing_fields(old["type"], old["inputs"], new["inputs"], new)
        if replaced:
            problems.append(f"{urn}: HOLDS DATA and would be replaced ({', '.join(replaced)})")
    return problems


def _updated_kinds(before: list[dict], after: list[dict]) -> set[str]:
    old = {r["urn"]: r for r in before}
    return {
        r["type"].rsplit(":", 1)[-1]
        for r in after
        if r["urn"] in old
        and (r["inputs"], r.get("secrets"))
        != (old[r["urn"]]["inputs"], old[r["urn"]].get("secrets"))
    }


def summary(before: list[dict], after: list[dict]) -> str:
    """What the up does besides losses: counts, and the kinds it updates in place."""
    old = {r["urn"]: r for r in before}
    new = {r["urn"]: r for r in after}
    added = [u for u in new if u not in old]
    changed = sorted(_updated_kinds(before, after))
    moved = sum(1 for u in new if u in old and new[u]["provider"] != old[u]["provider"])
    return f"{len(added)} added, {len(changed) and ', '.join(changed) or 'nothing'} updated, {moved} to another provider"


def check() -> int:
    head_python = ROOT / ".venv-runtime" / "bin" / "python"
    failures, lines = 0, []
    for release in releases():
        if not release.get("upgrade_check", True) or not release.get("commit"):
            continue
        started = time.monotonic()
        tree = _tree(release["commit"])
        python = _venv(tree)
        exceptions = {e["urn"]: e for e in release.get("exceptions", [])}
        base = tree.parent
        updated_kinds: set[str] = set()
        programs = _programs(tree) + [
            (f"api {n}", p, "test", None) for n, p in _api_projects(base).items()
        ]
        for label, project, stack, references in programs:
            old_out, new_out = (
                base / f"{label.replace(' ', '-')}.old.json",
                base / f"{label.replace(' ', '-')}.new.json",
            )
            error = record_release(release, tree, python, project, stack, references, old_out)
            if error:
                lines.append(
                    f"{release['version']} {label}: the release itself does not run it ({error}); skipped"
                )
                continue
            # Today's code on the same program: the project's own files for stacks and the
            # consumer (today's stack files), the same API program.
            today = (
                ROOT
                if project == tree
                else (ROOT / "examples" / "consumer" if project.name == "consumer" else project)
            )
            today_references = today / f"stack-references.{stack}.yaml" if references else None
            if project == tree and not (ROOT / f"Pulumi.{stack}.yaml").exists():
                lines.append(f"{release['version']} {label}: no such stack today; skipped")
                continue
            error = _record_with(head_python, None, today, stack, today_references, new_out)
            if error:
                failures += 1
                lines.append(f"{release['version']} {label}: today's code fails: {error}")
                continue
            problems = compare(
                json.loads(old_out.read_text()), json.loads(new_out.read_text()), exceptions
            )
            failures += bool(problems)
            before, after = json.loads(old_out.read_text()), json.loads(new_out.read_text())
            updated_kinds |= _updated_kinds(before, after)
            verdict = "ok" if not problems else "FAIL"
            lines.append(f"{release['version']} {label}: {verdict} ({summary(before, after)})")
            lines += [f"    {p}" for p in problems]
        # What the CHANGELOG says an up from this release updates, when it says it exactly.
        if "updates" in release and set(release["updates"]) != updated_kinds:
            failures += 1
            lines.append(
                f"{release['version']}: an up updates {sorted(updated_kinds)}, releases.yaml says {sorted(release['updates'])}"
            )
        lines.append(f"{release['version']}: {time.monotonic() - started:.0f} s")
    print("\n".join(lines))
    return 1 if failures else 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "record":
        parser = argparse.ArgumentParser()
        parser.add_argument("mode")
        parser.add_argument("project", type=Path)
        parser.add_argument("stack")
        parser.add_argument("out", type=Path)
        parser.add_argument("--references", type=Path)
        parser.add_argument("--overrides", default="{}")
        options = parser.parse_args()
        record(
            options.project,
            options.stack,
            options.out,
            options.references,
            json.loads(options.overrides),
        )
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "record-tree":
        # render --base of a release older than resources.yaml: its stack program, its own venv.
        parser = argparse.ArgumentParser()
        parser.add_argument("mode")
        parser.add_argument("tree", type=Path)
        parser.add_argument("stack")
        parser.add_argument("out", type=Path)
        parser.add_argument("--python", type=Path, required=True)
        parser.add_argument("--commit", required=True)
        options = parser.parse_args()
        release = next((r for r in releases() if r.get("commit") == options.commit), {})
        error = record_release(
            release, options.tree, options.python, options.tree, options.stack, None, options.out
        )
        if error:
            print(error, file=sys.stderr)
            return 1
        return 0
    return check()


if __name__ == "__main__":
    sys.exit(main())
