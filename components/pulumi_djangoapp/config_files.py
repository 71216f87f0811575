"""The app's configuration files: gathered from ``config_dir`` and ``config_files``, checked,
and hashed so that a change of content rolls the pods."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Optional

from .validation import Problems

_PART = re.compile(r"^[-._a-zA-Z0-9]+$")
MAX_TOTAL_BYTES = 1024 * 1024  # ConfigMaps stop at 1 MiB; config should be small either way


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
    return None


def gather(
    problems: Problems, files: Any, directory: Any, field: str = ""
) -> tuple[tuple[str, str], ...]:
    """Files of ``directory`` (walked, sorted) overlaid by ``files``; UTF-8 text only."""
    gathered: dict[str, str] = {}
    if directory is not None:
        base = Path(directory) if isinstance(directory, (str, os.PathLike)) else None
        if base is None or not base.is_dir():
            problems.add(f"{field}config_dir", directory, "must be an existing directory")
        else:
            for path in sorted(p for p in base.rglob("*") if p.is_file()):
                name = path.relative_to(base).as_posix()
                problem = relative_name_problem(name)
                if problem:
                    problems.add(f"{field}config_dir", name, problem)
                    continue
                try:
                    gathered[name] = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    problems.add(f"{field}config_dir", name, "config files must be UTF-8 text")
    if files is not None:
        if not isinstance(files, Mapping):
            problems.add(f"{field}config_files", files, "must map file names to their text")
            files = {}
        for name, content in files.items():
            problem = relative_name_problem(name)
            if problem:
                problems.add(f"{field}config_files", name, problem)
            elif not isinstance(content, str):
                problems.add(f"{field}config_files.{name}", type(content).__name__, "content must be text")
            else:
                gathered[name] = content
    total = sum(len(c.encode()) for c in gathered.values())
    if total > MAX_TOTAL_BYTES:
        problems.add(f"{field}config_files", f"{total} bytes", "config must stay under 1 MiB in total")
    return tuple(sorted(gathered.items()))


def content_hash(files: tuple[tuple[str, str], ...]) -> str:
    """A stable digest of names and contents: same files, same hash, whatever the order."""
    return hashlib.sha256(json.dumps(files, ensure_ascii=False).encode()).hexdigest()


def configmap_key(name: str) -> str:
    """ConfigMap keys cannot hold '/': nested files get a flattened key and keep their path."""
    return name.replace("/", "__")
