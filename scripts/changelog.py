"""CHANGELOG.md, generated from releases.yaml: ``python scripts/changelog.py --write`` (a test
runs ``--check``). Newest release first; each says what changed, what an ``up`` does to a running
stack, and what to edit in stack files."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def changelog(releases: list[dict]) -> str:
    lines = [
        "# Changelog",
        "",
        "Generated from `releases.yaml` (`python scripts/changelog.py --write`), which records the commit",
        "of every release: install one with `pulumi-djangoapp @ git+<this repository>@<commit>`.",
        "`make upgrade` checks that an `up` from each release loses no data and no resource.",
        "",
    ]
    for release in reversed(releases):
        commit = release.get("commit") or "recorded by the next commit"
        lines += [
            f"## {release['version']} ({release['date']})",
            "",
            f"Commit: `{commit}`; package `{release['package']}`.",
            "",
        ]
        for title, key in (
            ("Changes", "changes"),
            ("What an `up` does to a running stack", "up"),
            ("Stack files", "stack_files"),
        ):
            items = release.get(key) or []
            if items:
                lines += [f"### {title}", "", *(f"- {item}" for item in items), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    releases = yaml.safe_load((ROOT / "releases.yaml").read_text())["releases"]
    text = changelog(releases)
    target = ROOT / "CHANGELOG.md"
    if "--write" in argv:
        target.write_text(text)
        return 0
    if not target.exists() or target.read_text() != text:
        print(
            "CHANGELOG.md differs from releases.yaml: run python scripts/changelog.py --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
