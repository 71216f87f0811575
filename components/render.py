"""Offline render: what ``pulumi up`` would create, without a cluster, a cloud account or the CLI.

``python -m components.render --stack dev --out out/dev`` runs a Pulumi program (``stacks/`` by
default) under mocks with the config of ``Pulumi.<stack>.yaml`` and writes

* ``kubernetes.yaml``: every Kubernetes object as it would be applied (namespace first);
* ``aws.json``: every AWS (and random) resource with its inputs;

with every secret value replaced by ``[secret]`` and every value only the cloud knows (a bucket's
generated name, an ARN) by a readable ``<computed:...>`` placeholder. ``secure:`` stack values
are never decrypted.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml
from pulumi.runtime import rpc

SECRET = "[secret]"
# Apply order: what others reference first.
_KIND_ORDER = [
    "Namespace", "ServiceAccount", "Secret", "ConfigMap", "Service", "StatefulSet", "Job",
    "Deployment", "PodDisruptionBudget", "NetworkPolicy",
]  # fmt: skip


class RenderError(Exception):
    """A problem of the user's input (config, stack, program path): one message, no traceback."""


@dataclass
class Rendered:
    kubernetes: list[dict]
    aws: list[dict]
    outputs: dict[str, dict] = field(default_factory=dict)
    types: Counter = field(default_factory=Counter)


def computed(name: str, attribute: str) -> str:
    return f"<computed:{name}.{attribute}>"


def _mocks_class():
    import pulumi

    class RenderMocks(pulumi.runtime.Mocks):
        """Inputs become state; values the cloud would generate become placeholders; other
        stacks' outputs come from ``stack-references.<stack>.yaml`` (or --stack-references)."""

        def __init__(self, stack_outputs: dict) -> None:
            self.stack_outputs = stack_outputs

        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            state = dict(args.inputs)
            if args.typ == "pulumi:pulumi:StackReference":
                outputs = self.stack_outputs.get(args.inputs["name"])
                if outputs is None:
                    raise RenderError(
                        f"StackReference {args.inputs['name']!r}: give its outputs in "
                        "stack-references.<stack>.yaml next to Pulumi.yaml or with --stack-references"
                    )
                return args.name, {"name": args.inputs["name"], "outputs": outputs, "secretOutputNames": []}
            if args.typ == "random:index/randomPassword:RandomPassword":
                state["result"] = computed(args.name, "result")
            elif args.typ.startswith("aws:"):
                state.setdefault("arn", computed(args.name, "arn"))
                if args.typ == "aws:s3/bucket:Bucket":
                    state.setdefault("bucket", computed(args.name, "bucket"))
                    return state["bucket"], state
            return computed(args.name, "id"), state

        def call(self, args: pulumi.runtime.MockCallArgs):
            if args.token == "aws:index/getRegion:getRegion":
                region = computed("aws", "region")
                return {"region": region, "name": region, "id": region}, []
            return {}, []

    return RenderMocks


def _redact(value: Any) -> Any:
    """Secrets become [secret]; whole floats (the wire has no ints) become ints."""
    if isinstance(value, dict):
        if rpc.is_rpc_secret(value):
            inner = value.get("value")
            # A secret map keeps its (non-secret) keys so the manifest keeps its shape.
            return {k: SECRET for k in inner} if isinstance(inner, dict) else SECRET
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _sorted(value: Any) -> Any:
    """Map keys in a fixed order (the wire does not keep one); list order is meaning, kept."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _manifest(inputs: dict) -> dict:
    order = ["apiVersion", "kind", "metadata"]
    clean = _sorted(inputs)
    return {**{k: clean[k] for k in order if k in clean}, **{k: v for k, v in clean.items() if k not in order}}


def _sort_key(obj: dict) -> tuple:
    kind = obj.get("kind", "")
    rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
    meta = obj.get("metadata", {})
    return (rank, kind, meta.get("namespace", ""), meta.get("name", ""))


def find_project(program: Path) -> Path:
    for directory in [program if program.is_dir() else program.parent, *program.resolve().parents]:
        if (directory / "Pulumi.yaml").is_file():
            return directory
    raise RenderError(f"no Pulumi.yaml at or above {program}")


def stack_config(project_dir: Path, stack: str, overrides: Sequence[str]) -> tuple[str, dict, list]:
    """Project name, config (project defaults, then the stack file, then --set), secret keys."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    name = project["name"]
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
        raise RenderError(f"stack {stack!r}: no {stack_file.name} in {project_dir} (stacks: {', '.join(known)})")
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, declared in (project.get("config") or {}).items():
        if isinstance(declared, dict) and "default" in declared:
            config[key if ":" in key else f"{name}:{key}"] = _config_value(declared["default"])
    for key, value in ((yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}).items():
        if isinstance(value, dict) and "secure" in value:
            # Never decrypted: a placeholder of the right kind, marked secret.
            config[key] = f"placeholder-for-{key.split(':')[-1]}"
            secret_keys.append(key)
        else:
            config[key] = _config_value(value)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RenderError(f"--set {item!r}: expected key=value")
        config[key if ":" in key else f"{name}:{key}"] = value
    return name, config, secret_keys


def _config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def stack_references(project_dir: Path, stack: str, path: Optional[Path]) -> dict:
    file = path or project_dir / f"stack-references.{stack}.yaml"
    if not file.is_file():
        if path:
            raise RenderError(f"--stack-references {path}: no such file")
        return {}
    return yaml.safe_load(file.read_text()) or {}


def render(
    program: Path, stack: str, overrides: Sequence[str] = (), references: Optional[Path] = None
) -> Rendered:
    """Run the program under mocks and collect what it registered."""
    import pulumi
    from pulumi.runtime import mocks, rpc

    from .validation import ValidationError

    program = program.resolve()
    project_dir = find_project(program)
    project, config, secret_keys = stack_config(project_dir, stack, overrides)
    entry = program / "__main__.py" if program.is_dir() else program
    if not entry.is_file():
        raise RenderError(f"no program at {entry}")

    registered: list[tuple[str, str, dict]] = []
    outputs: dict[str, dict] = {}

    class Monitor(mocks.MockMonitor):
        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                registered.append((request.type, request.name, rpc.deserialize_properties(request.object, keep_unknowns=True)))
            return response

        def RegisterResourceOutputs(self, request):
            outputs[request.urn] = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
            return super().RegisterResourceOutputs(request)

    mock = _mocks_class()(stack_references(project_dir, stack, references))
    pulumi.runtime.set_all_config(config, secret_keys=secret_keys)
    pulumi.runtime.set_mocks(mock, project=project, stack=stack, preview=False, monitor=Monitor(mock))

    @pulumi.runtime.test
    def run() -> None:
        runpy.run_path(str(entry), run_name="__main__")

    cwd, path = os.getcwd(), list(sys.path)
    os.chdir(project_dir)  # as the language host does
    sys.path.insert(0, str(entry.parent.resolve()))
    try:
        run()
    except (pulumi.RunError, ValidationError, RenderError) as error:
        raise RenderError(str(error)) from None
    except Exception as error:  # an exception inside the mocks reaches us wrapped
        cause = error
        while cause.__cause__ or cause.__context__:
            if isinstance(cause, (RenderError, ValidationError)):
                break
            cause = cause.__cause__ or cause.__context__
        if isinstance(cause, (RenderError, ValidationError)):
            raise RenderError(str(cause)) from None
        raise
    finally:
        os.chdir(cwd)
        sys.path[:] = path

    result = Rendered(kubernetes=[], aws=[])
    for type_, name, inputs in registered:
        result.types[type_] += 1
        clean = _redact(inputs)
        if type_.startswith("kubernetes:") and not type_.startswith("pulumi:providers"):
            result.kubernetes.append(_manifest(clean))
        elif type_.startswith(("aws:", "random:")):
            result.aws.append({"type": type_, "name": name, "inputs": _sorted(clean)})
    result.kubernetes.sort(key=_sort_key)
    result.aws.sort(key=lambda r: (r["type"], r["name"]))
    result.outputs = {
        urn.rsplit("::", 1)[-1]: _redact(o)
        for urn, o in outputs.items()
        if urn.split("::")[2].split("$")[-1].endswith(":DjangoApp")
    }
    return result


def write(result: Rendered, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "kubernetes.yaml").open("w") as handle:
        yaml.safe_dump_all(result.kubernetes, handle, sort_keys=False, width=100)
    (out / "aws.json").write_text(json.dumps(result.aws, indent=2, sort_keys=False) + "\n")


def summary(result: Rendered) -> str:
    lines = ["Resources by type:"]
    lines += [f"  {count:3d}  {type_}" for type_, count in sorted(result.types.items())]
    for obj in result.kubernetes:
        if obj.get("kind") == "Deployment":
            pod = obj["spec"]["template"]["spec"]
            steps = [
                f"{c['name']} (sidecar)" if c.get("restartPolicy") == "Always" else c["name"]
                for c in pod.get("initContainers", [])
            ]
            lines.append(f"Pod of Deployment {obj['metadata']['name']}:")
            lines.append(f"  init order: {' -> '.join(steps) or '(none)'}")
            lines.append(f"  containers: {', '.join(c['name'] for c in pod['containers'])}")
    for name, outputs in sorted(result.outputs.items()):
        lines.append(f"DjangoApp {name}: effective pod requests {outputs.get('effective_pod_requests')}, limits {outputs.get('effective_pod_limits')}")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--out", required=True, type=Path, help="directory for kubernetes.yaml and aws.json")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    parser.add_argument("--program", type=Path, default=Path("stacks"), help="program folder or file (default: stacks/)")
    parser.add_argument("--stack-references", type=Path, help="YAML of other stacks' outputs (default: stack-references.<stack>.yaml)")
    options = parser.parse_args(argv)
    try:
        result = render(options.program, options.stack, options.set, options.stack_references)
    except RenderError as error:
        print(f"render: {error}", file=sys.stderr)
        return 2
    write(result, options.out)
    print(summary(result))
    print(f"Wrote {options.out / 'kubernetes.yaml'} ({len(result.kubernetes)} objects) and {options.out / 'aws.json'} ({len(result.aws)} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
