"""Releases: each recorded with its commit (tags may not travel with a clone), the package's
version at that commit, a CHANGELOG generated from the record, README install lines that work."""

import re
import subprocess
import sys

import yaml
from conftest import ROOT

import pulumi_djangoapp

RELEASES = yaml.safe_load((ROOT / "releases.yaml").read_text())["releases"]


def version_at(commit, package):
    path = (
        "components/__init__.py" if package == "components" else f"components/{package}/__init__.py"
    )
    text = subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def test_every_recorded_commit_is_its_release():
    recorded = [r for r in RELEASES if r["commit"]]
    assert [r["version"] for r in recorded][:2] == ["0.1.0", "0.2.0"]
    for release in recorded:
        assert re.fullmatch(r"[0-9a-f]{40}", release["commit"]), release["version"]
        assert version_at(release["commit"], release["package"]) == release["version"]


def test_a_wrong_commit_cannot_pass_as_a_release():
    # Negative control: 0.1.0's commit does not carry 0.2.0's version.
    assert version_at(RELEASES[0]["commit"], "components") != "0.2.0"


def test_the_package_version_is_the_newest_release():
    assert pulumi_djangoapp.__version__ == RELEASES[-1]["version"]
    versions = [tuple(int(p) for p in r["version"].split(".")) for r in RELEASES]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)


def test_the_changelog_is_generated_from_the_releases():
    result = subprocess.run(
        [sys.executable, "scripts/changelog.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_readme_installs_by_a_recorded_commit_never_by_a_tag():
    readme = (ROOT / "README.md").read_text()
    commits = {r["commit"] for r in RELEASES if r["commit"]}
    pinned = re.findall(r"@([0-9a-f]{7,40})\b", readme)
    assert pinned and all(any(c.startswith(p) for c in commits) for p in pinned)
    assert re.findall(r"@v\d+\.\d+\.\d+|--branch v\d", readme) == []
