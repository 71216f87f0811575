"""The app's configuration files: gathered from ``config_dir`` and ``config_files``, checked,
and hashed so that a change of content rolls the pods."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Optional

from .checks import MAX_CONFIGMAP_KEY, MAX_FILE_NAME_BYTES, Problems

_PART = re.compile(r"^[-._a-zA-Z0-9]+$")

MAX_TOTAL_BYTES = 1024 * 1024  # ConfigMaps stop at 1 MiB; config should be small either way

# Beyond this many files with the same problem, one summarised problem says how many.
LISTED = 5


def relative_name_problem(name: object) -> Optional[str]:
    """Why ``name`` cannot be a file below the config directory, or ``None``."""
    if not isinstance(name, str) or not name.strip():
        return "file names must be non-empty"
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        return "file names must be relative to the config directory, not absolute"
    if ".." in path.parts:
        return "file names must not contain '..'"
    if any(part in ("", ".") or not _PART.match(part) for part in name.split("/")):
        return (
            "file names must be plain relative paths of letters, digits, '.', '_' and '-' "
            "('settings.toml', 'sub/app.json')"
        )
    if any(len(part.encode()) > MAX_FILE_NAME_BYTES for part in name.split("/")):
        return f"each part of a file name must be at most {MAX_FILE_NAME_BYTES} bytes (a file system limit)"
    if len(configmap_key(name)) > MAX_CONFIGMAP_KEY:
        return f"file names must be at most {MAX_CONFIGMAP_KEY} characters with '/' (a ConfigMap key limit)"
    return None


class _Grouped:
    """Problems of many files with the same cause, reported as one line past LISTED files."""

    def __init__(self) -> None:
        self.by_cause: dict[tuple[str, str], list[str]] = {}

    def add(self, field: str, name: str, problem: str) -> None:
        self.by_cause.setdefault((field, problem), []).append(name)

    def report(self, problems: Problems) -> None:
        for (field, problem), names in self.by_cause.items():
            if len(names) <= LISTED:
                for name in names:
                    problems.add(field, name, problem)
            else:
                shown = ", ".join(names[:LISTED])
                problems.add(field, f"{len(names)} files ({shown}, ...)", problem)


def gather(
    problems: Problems, files: Any, directory: Any, field: str = ""
) -> tuple[tuple[str, str], ...]:
    """Files of ``directory`` (walked, sorted) overlaid by ``files``; UTF-8 text only."""
    gathered: dict[str, str] = {}
    grouped = _Grouped()
    if directory is not None:
        base = (
            Path(directory)
            if isinstance(directory, (str, os.PathLike)) and str(directory)
            else None
        )
        if isinstance(directory, str) and not directory.strip():
            # Path("") is the working directory: everything in it would be uploaded.
            problems.add(
                f"{field}config_dir",
                directory,
                "must name a directory (empty would upload the working directory)",
            )
        elif base is None or not base.is_dir():
            problems.add(f"{field}config_dir", directory, "must be an existing directory")
        else:
            for path in sorted(p for p in base.rglob("*") if p.is_file()):
                name = path.relative_to(base).as_posix()
                problem = relative_name_problem(name)
                if problem:
                    grouped.add(f"{field}config_dir", name, problem)
                    continue
                try:
                    gathered[name] = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    grouped.add(f"{field}config_dir", name, "config files must be UTF-8 text")
    from_dir = set(gathered)
    if files is not None:
        if not isinstance(files, Mapping):
            problems.add(f"{field}config_files", files, "must map file names to their text")
            files = {}
        for name, content in files.items():
            problem = relative_name_problem(name)
            if problem:
                problems.add(f"{field}config_files", name, problem)
            elif not isinstance(content, str):
                problems.add(
                    f"{field}config_files.{name}", type(content).__name__, "content must be text"
                )
            else:
                gathered[name] = content
    grouped.report(problems)
    keys: dict[str, str] = {}
    for name in sorted(gathered):
        key = configmap_key(name)
        if key in keys:
            # Both would land under one ConfigMap key: one file would silently replace the other.
            problems.add(
                f"{field}config_files",
                name,
                f"maps to the same ConfigMap key as {keys[key]!r} ({key}); rename one",
            )
        keys[key] = name
    total = sum(len(c.encode()) for c in gathered.values())
    if total > MAX_TOTAL_BYTES:
        # Named after what the user set: the folder, unless files given directly add to it.
        where = "config_dir" if from_dir and set(gathered) == from_dir else "config_files"
        problems.add(f"{field}{where}", f"{total} bytes", "config must stay under 1 MiB in total")
    return tuple(sorted(gathered.items()))


def content_hash(files: tuple[tuple[str, str], ...]) -> str:
    """A stable digest of names and contents: same files, same hash, whatever the order."""
    return hashlib.sha256(json.dumps(files, ensure_ascii=False).encode()).hexdigest()


def configmap_key(name: str) -> str:
    """ConfigMap keys cannot hold '/': nested files get a flattened key and keep their path."""
    return name.replace("/", "__")
