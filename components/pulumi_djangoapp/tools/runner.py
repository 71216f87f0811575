"""Run a Pulumi Python program under mocks exactly the way ``pulumi preview``/``up`` runs it.

The render, the tests and the benchmark all go through :func:`run`, so none of them can drift
from the engine. What the engine does, read in its source (pulumi/pulumi):

* ``pkg/engine/project.go``, ``getPwdMain``: the working directory is the program's folder. A
  ``main`` that is a folder becomes the working directory and the program is ``.``; a ``main``
  file's folder becomes the working directory and the program is the file's base name.
* ``sdk/python/cmd/pulumi-language-python-exec``: config comes from ``PULUMI_CONFIG`` through
  ``set_all_config``, then ``os.chdir(pwd)`` and ``runpy.run_path(PROGRAM, run_name="__main__")``.
  ``run_path`` of a folder puts that folder first on ``sys.path``; the project root is not put
  there (the exec script's own folder is ``sys.path[0]``).
* ``pulumi.get_root_directory()`` is "the project root, the location of Pulumi.yaml"
  (``pulumi/runtime/settings.py``). ``set_mocks`` has no parameter for it, so :func:`run` sets it.
* ``sdk/go/common/workspace/project.go``, ``ValidateConfigValue``: every plain stack value reaches
  the program as a string; a key the project declares as ``integer`` takes any string that Go's
  ``strconv.Atoi`` parses, ``boolean`` exactly ``true`` or ``false``; a bad one stops the engine
  before the program runs.

Two modes: ``preview=False`` is ``pulumi up`` with a cloud that answers (the mocks invent the
values only the cloud knows), ``preview=True`` is the *first* ``pulumi preview`` of a stack:
nothing exists yet, so every id and every value only the cloud knows (ARNs, bucket names,
generated passwords) is unknown, as the engine reports them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

import yaml


class ProgramError(Exception):
    """The project, the stack or its config is not one the engine would run: one message."""


@dataclass(frozen=True)
class Project:
    """A Pulumi project as the engine sees it: ``Pulumi.yaml`` and where its program runs."""

    root: Path  # the folder of Pulumi.yaml: pulumi.get_root_directory()
    name: str
    declared: Mapping[str, Any]  # the project's config: block
    pwd: Path  # the working directory of the program
    program: str  # what the language host passes to runpy.run_path, relative to pwd

    @property
    def entry(self) -> Path:
        path = self.pwd / self.program
        return path / "__main__.py" if path.is_dir() else path


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` that holds ``Pulumi.yaml``."""
    start = start.resolve()
    for directory in [start if start.is_dir() else start.parent, *start.parents]:
        if (directory / "Pulumi.yaml").is_file():
            return directory
    raise ProgramError(f"no Pulumi.yaml at or above {start}")


def load_project(start: Path, program: Optional[Path] = None) -> Project:
    """The project at or above ``start``; its ``main`` unless ``program`` names another one."""
    root = find_root(start)
    try:
        spec = yaml.safe_load((root / "Pulumi.yaml").read_text()) or {}
    except yaml.YAMLError as error:
        raise ProgramError(f"{root / 'Pulumi.yaml'}: not valid YAML ({error})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ProgramError(f"{root / 'Pulumi.yaml'}: needs a 'name'")
    if program is None:
        main = str(spec.get("main") or ".")
        if os.path.isabs(main):
            raise ProgramError(f"{root / 'Pulumi.yaml'}: project 'main' must be a relative path")
        program = root / main
    main_path = program.resolve()
    if main_path != root and root not in main_path.parents:
        raise ProgramError(f"program {program} is not inside the project {root}")
    if main_path.is_dir():
        pwd, entry = main_path, "."
    elif main_path.is_file():
        pwd, entry = main_path.parent, main_path.name
    else:
        raise ProgramError(f"program {program}: no such file or folder")
    project = Project(
        root=root, name=spec["name"], declared=spec.get("config") or {}, pwd=pwd, program=entry
    )
    if not project.entry.is_file():
        raise ProgramError(f"no program at {project.entry}")
    return project


def _engine_string(value: Any) -> str:
    """A stack file value as the engine hands it to the program."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _full_key(project: Project, key: str) -> str:
    return key if ":" in key else f"{project.name}:{key}"


def stack_config(
    project: Project,
    stack: str,
    overrides: Sequence[str] = (),
    require_stack_file: Optional[bool] = None,
) -> tuple[dict[str, str], list[str]]:
    """Config as the program receives it: project defaults, the stack file, then ``overrides``
    (``key=value``). ``secure:`` values are never decrypted: a placeholder, marked secret.

    A missing stack file is an error only where the project has stack files (a typo in a stack
    name); a project without any previews on its defaults, as ``pulumi preview`` does."""
    if require_stack_file is None:
        require_stack_file = any(project.root.glob("Pulumi.*.yaml"))
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, declared in project.declared.items():
        if isinstance(declared, dict) and "default" in declared:
            config[_full_key(project, key)] = _engine_string(declared["default"])
        elif isinstance(declared, dict) and "value" in declared:  # other namespaces: aws:region
            config[_full_key(project, key)] = _engine_string(declared["value"])
    stack_file = project.root / f"Pulumi.{stack}.yaml"
    if stack_file.is_file():
        values = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    elif require_stack_file:
        known = sorted(
            p.name[len("Pulumi.") : -len(".yaml")] for p in project.root.glob("Pulumi.*.yaml")
        )
        raise ProgramError(
            f"stack {stack!r}: no {stack_file.name} in {project.root} (stacks: {', '.join(known) or 'none'})"
        )
    else:
        values = {}
    for key, value in values.items():
        if isinstance(value, dict) and "secure" in value:
            config[_full_key(project, key)] = f"placeholder-for-{key.split(':')[-1]}"
            secret_keys.append(_full_key(project, key))
        else:
            config[_full_key(project, key)] = _engine_string(value)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ProgramError(f"--set {item!r}: expected key=value")
        config[_full_key(project, key)] = value
    check_types(project, config, secret_keys)
    return config, secret_keys


_ATOI = re.compile(r"[+-]?[0-9]+")  # strconv.Atoi: optional sign, decimal digits, nothing else


def check_types(
    project: Project, config: Mapping[str, str], secret_keys: Sequence[str] = ()
) -> None:
    """Refuse what the engine refuses before the program starts (``ValidateConfigValue``), and a
    key of the project's own namespace that its config block does not declare (a typo the
    program would otherwise silently ignore)."""
    problems = []
    if project.declared:
        declared = {_full_key(project, key) for key in project.declared}
        for key in sorted(config):
            if key.startswith(f"{project.name}:") and key not in declared:
                problems.append(f"{key}: not declared in the config block of Pulumi.yaml")
    for key, declared in project.declared.items():
        full = _full_key(project, key)
        if not isinstance(declared, dict) or full not in config or full in secret_keys:
            continue
        value, kind = config[full], declared.get("type")
        if kind == "integer" and not (_ATOI.fullmatch(value) and -(2**63) <= int(value) < 2**63):
            problems.append(f"{full}: {value!r} is not an integer")
        elif kind == "boolean" and value not in ("true", "false"):
            problems.append(f"{full}: {value!r} is not a boolean (true or false)")
        elif kind == "array":
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                parsed = None
            # pulumi v3.260.0 pkg/workspace/config.go: "Stack 'dev' with configuration key
            # 'djangoapp:env' must be of type 'array<string>'" for a key left with no items (null).
            if parsed is None and value in ("None", "null", ""):
                problems.append(
                    f"{full}: has no items (null), not a list: write an empty list as []"
                )
            elif not isinstance(parsed, list):
                problems.append(f"{full}: {value!r} is not a list")
    if problems:
        raise ProgramError("stack config the engine would refuse: " + "; ".join(problems))


def first_preview_mocks(mocks: Any) -> Any:
    """Mocks that answer like the engine on the first preview of a stack.

    A resource to create comes back with its inputs and nothing else: its id and every output
    only the provider computes (an ARN, a bucket's generated name, a RandomPassword's result) are
    unknown. Reads of other stacks (StackReference) and provider functions still answer.
    """
    import pulumi

    class FirstPreview(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            if args.typ == "pulumi:pulumi:StackReference":
                return mocks.new_resource(args)
            # An empty id during a preview is an unknown id (pulumi/runtime/resource.py).
            return "", dict(args.inputs)

        def call(self, args: pulumi.runtime.MockCallArgs):
            return mocks.call(args)

    return FirstPreview()


@contextmanager
def _as_the_language_host(project: Project) -> Iterator[None]:
    """Working directory = the program's folder, that folder first on ``sys.path`` and the
    project root nowhere on it (nor ``''``/``'.'`` when they mean the root); restored after."""
    cwd, saved = os.getcwd(), list(sys.path)
    root = str(project.root)

    def is_root(entry: str) -> bool:
        return os.path.realpath(os.path.join(cwd, entry) if entry else cwd) == root

    os.chdir(project.pwd)
    sys.path[:] = [str(project.pwd)] + [
        p for p in saved if not is_root(p) and p != str(project.pwd)
    ]
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = saved


def run(
    project: Project,
    stack: str,
    config: Mapping[str, str],
    mocks: Any,
    *,
    secret_keys: Sequence[str] = (),
    monitor: Any = None,
    preview: bool = False,
    undecrypted: bool = False,
) -> None:
    """Run the project's program once under ``mocks`` (a ``pulumi.runtime.Mocks``), optionally
    through a ``MockMonitor`` that records registrations. ``preview=True``: the first preview.
    Exceptions of the program propagate (``pulumi.RunError`` is the user-facing kind)."""
    import runpy

    import pulumi
    from pulumi.runtime import settings

    if preview:
        mocks = first_preview_mocks(mocks)
        if monitor is not None:
            monitor.mocks = mocks
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    pulumi.runtime.set_mocks(
        mocks, project=project.name, stack=stack, preview=preview, monitor=monitor
    )
    settings.SETTINGS.root_directory = str(project.root)

    @pulumi.runtime.test
    def program() -> None:
        # The host passes "." (or the file name) relative to the new working directory; the
        # absolute form is the same file and folder, and stays right when one process runs
        # several programs (importlib caches a finder for "." at the first working directory).
        runpy.run_path(str(project.pwd / project.program), run_name="__main__")

    with _as_the_language_host(project), _secrets_unknown(secret_keys if undecrypted else ()):
        try:
            program()
        finally:
            _forget_program_modules(project)


@contextmanager
def _secrets_unknown(secret_keys: Sequence[str]) -> Iterator[None]:
    """Without the stack's key nothing can decrypt a ``secure:`` value: read as a secret
    (``get_secret``) it is an unknown secret Output, as a preview before decryption would be,
    so checks that wait for the value never judge a placeholder."""
    import pulumi

    if not secret_keys:
        yield
        return
    original = pulumi.Config.get_secret

    def get_secret(self: Any, key: str, default: Any = None) -> Any:
        if self.full_key(key) in secret_keys:
            return pulumi.Output.secret(pulumi.output.UNKNOWN)
        return original(self, key, default)

    pulumi.Config.get_secret = get_secret  # type: ignore[method-assign]
    try:
        yield
    finally:
        pulumi.Config.get_secret = original  # type: ignore[method-assign]


def _forget_program_modules(project: Project) -> None:
    """Each ``pulumi up`` is a new process: modules a program imported from its own folder must
    not be found by the next program that runs in this process. Installed packages are not the
    program's, even where its virtualenv sits inside its folder (``virtualenv: venv`` in
    ``Pulumi.yaml`` puts it there): forgetting them would forget pulumi, and the running render."""
    pwd = str(project.pwd) + os.sep
    installed = tuple(str(Path(p)) + os.sep for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if not file.startswith(pwd) or file.startswith(installed):
            continue
        parts = Path(file[len(pwd) :]).parts
        if "site-packages" in parts or "dist-packages" in parts:
            continue
        del sys.modules[name]
