"""Offline render: what ``pulumi up`` would create, without a cluster, a cloud account or the CLI.

``python -m pulumi_djangoapp.render --stack dev --out out/dev`` runs a Pulumi program (the ``main`` of
the ``Pulumi.yaml`` in the working directory by default) under mocks, with the config of
``Pulumi.<stack>.yaml`` and exactly as the engine runs it (``pulumi_djangoapp.runner``), and writes

* ``kubernetes.yaml``: every Kubernetes object as it would be applied (namespace first);
* ``aws.json``: every AWS (and random) resource with its inputs;

with every secret value replaced by ``[secret]`` and every value only the cloud knows (a bucket's
generated name, an ARN) by a readable ``<computed:...>`` placeholder. ``secure:`` stack values
are never decrypted.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml
from pulumi.runtime import rpc

SECRET = "[secret]"

UNKNOWN = "[unknown]"  # what the first preview cannot know yet (pulumi shows "output<string>")

# Apply order: what others reference first.
_KIND_ORDER = [
    "Namespace", "ServiceAccount", "Secret", "ConfigMap", "Service", "StatefulSet", "Job",
    "Deployment", "CronJob", "PodDisruptionBudget", "NetworkPolicy",
]  # fmt: skip


class RenderError(Exception):
    """A problem of the user's input (config, stack, program path): one message, no traceback."""


@dataclass
class Rendered:
    kubernetes: list[dict]
    aws: list[dict]
    outputs: dict[str, dict] = field(default_factory=dict)
    types: Counter = field(default_factory=Counter)
    # Every registered resource (components included): name, type, parent and the options that
    # decide what Pulumi does with it (protect, dependsOn, replaceOnChanges, ...).
    resources: list[dict] = field(default_factory=list)


def _name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def resource_options(request: Any, response_urn: str) -> dict:
    """What a reviewer needs beside the inputs: the options Pulumi acts on, defaults left out."""
    timeouts = {
        k: getattr(request.customTimeouts, k)
        for k in ("create", "update", "delete")
        if getattr(request.customTimeouts, k)
    }
    options = {
        "protect": request.protect or None,
        "retainOnDelete": request.retainOnDelete or None,
        # dependsOn and the resources whose outputs feed an input: what Pulumi waits for.
        "dependencies": sorted(_name_of(u) for u in request.dependencies) or None,
        "replaceOnChanges": list(request.replaceOnChanges) or None,
        "ignoreChanges": list(request.ignoreChanges) or None,
        "deleteBeforeReplace": request.deleteBeforeReplace or None,
        "customTimeouts": timeouts or None,
        "provider": request.provider.split("::")[-2] if request.provider else None,
    }
    entry = {
        "name": request.name,
        "type": request.type,
        # The identity Pulumi keys state by: a new parent or type is a new resource (delete and
        # create unless aliased), which the review diff must show.
        "urn": response_urn,
        "parent": _name_of(request.parent) if request.parent else None,
        "custom": request.custom,
        "options": {k: v for k, v in options.items() if v is not None},
    }
    secrets = secret_digests(rpc.deserialize_properties(request.object, keep_unknowns=True))
    if secrets:
        # Never a value: a digest per secret input, so the diff can say "changed (secret)".
        entry["secrets"] = secrets
    return entry


def secret_digests(value: Any, path: str = "") -> dict[str, str]:
    """``path -> sha256[:16]`` of every secret-marked value under ``value``."""
    import hashlib

    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            text = json.dumps(value.get("value"), sort_keys=True, default=str)
            return {path: hashlib.sha256(text.encode()).hexdigest()[:16]}
        found: dict[str, str] = {}
        for key, item in value.items():
            found.update(secret_digests(item, f"{path}.{key}" if path else str(key)))
        return found
    if isinstance(value, list):
        found = {}
        for index, item in enumerate(value):
            found.update(secret_digests(item, f"{path}[{index}]"))
        return found
    return {}


def computed(name: str, attribute: str) -> str:
    return f"<computed:{name}.{attribute}>"


# Every file a render writes into --out (diff.md only with --markdown, and named by it).
OUT_FILES = (
    "kubernetes.yaml", "aws.json", "aws.yaml", "resources.yaml", "outputs.json",
    "graph.dot", "pods.dot", "graph.svg", "pods.svg",
)  # fmt: skip


def looked_up(name: str, attribute: str) -> str:
    """A value ``pulumi preview`` already knows (a data-source lookup in the account)."""
    return f"<looked up at preview:{name}.{attribute}>"


def _mocks_class():
    import pulumi

    class RenderMocks(pulumi.runtime.Mocks):
        """Inputs become state; values the cloud would generate become placeholders; other
        stacks' outputs come from ``stack-references.<stack>.yaml`` (or --stack-references)."""

        def __init__(self, stack_outputs: dict) -> None:
            self.stack_outputs = stack_outputs
            self.provider_regions: dict[str, Any] = {}  # explicit AWS providers, by name

        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            state = dict(args.inputs)
            if args.typ == "pulumi:providers:aws":
                self.provider_regions[args.name] = args.inputs.get("region")
            if args.typ == "pulumi:pulumi:StackReference":
                outputs = self.stack_outputs.get(args.inputs["name"])
                if outputs is None:
                    raise RenderError(
                        f"StackReference {args.inputs['name']!r}: give its outputs in "
                        "stack-references.<stack>.yaml next to Pulumi.yaml or with --stack-references"
                    )
                return args.name, {
                    "name": args.inputs["name"],
                    "outputs": outputs,
                    "secretOutputNames": [],
                }
            if args.typ == "random:index/randomPassword:RandomPassword":
                state["result"] = computed(args.name, "result")
            elif args.typ == "random:index/randomId:RandomId":
                state["hex"] = computed(args.name, "hex")
                # Real base64 (zero bytes): a salt only ever feeds a value rendered as [secret].
                state["b64Std"] = base64.b64encode(
                    bytes(int(args.inputs.get("byteLength", 4)))
                ).decode()
            elif args.typ.startswith("aws:"):
                state.setdefault("arn", computed(args.name, "arn"))
                if args.typ in (
                    "aws:rds/subnetGroup:SubnetGroup",
                    "aws:rds/parameterGroup:ParameterGroup",
                ):
                    state.setdefault("name", computed(args.name, "name"))
                if args.typ == "aws:rds/instance:Instance":
                    state["address"] = computed(args.name, "address")
                    state["masterUserSecrets"] = [
                        {"secretArn": computed(args.name, "master_user_secrets[0].secret_arn")}
                    ]
                if args.typ == "aws:s3/bucket:Bucket":
                    state.setdefault("bucket", computed(args.name, "bucket"))
                    return state["bucket"], state
            return computed(args.name, "id"), state

        def call(self, args: pulumi.runtime.MockCallArgs):
            if args.token == "aws:index/getRegion:getRegion":
                # The region the provider was configured with: an explicit provider's `region`
                # (its reference is "<urn>::<id>", the urn ending in "::<name>"), else the
                # stack's `aws:region`, as the default provider reads it.
                if args.provider:
                    region = self.provider_regions.get(args.provider.split("::")[-2])
                else:
                    region = pulumi.runtime.get_config("aws:region")
                region = region or computed("aws", "region")
                return {"region": region, "name": region, "id": region}, []
            if args.token == "aws:ec2/getSubnet:getSubnet":
                # A real preview reads these from the account; the render says where they come from.
                subnet = args.args["id"]
                return {
                    "id": subnet,
                    "cidrBlock": looked_up(subnet, "cidr_block"),
                    # One placeholder per subnet: the render cannot know whether two share a zone.
                    "availabilityZone": looked_up(subnet, "availability_zone"),
                    "vpcId": looked_up("subnets", "vpc_id"),
                }, []
            return {}, []

    return RenderMocks


def _redact(value: Any) -> Any:
    """Secrets become [secret], unknowns [unknown]; whole floats (the wire has no ints) ints."""
    from pulumi.output import Unknown

    if isinstance(value, Unknown):
        return UNKNOWN
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
    return {
        **{k: clean[k] for k in order if k in clean},
        **{k: v for k, v in clean.items() if k not in order},
    }


def _sort_key(obj: dict) -> tuple:
    kind = obj.get("kind", "")
    rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
    meta = obj.get("metadata", {})
    return (rank, kind, meta.get("namespace", ""), meta.get("name", ""))


def stack_references(project_dir: Path, stack: str, path: Optional[Path]) -> dict:
    file = path or project_dir / f"stack-references.{stack}.yaml"
    if not file.is_file():
        if path:
            raise RenderError(f"--stack-references {path}: no such file")
        return {}
    return yaml.safe_load(file.read_text()) or {}


def render(
    program: Optional[Path],
    stack: str,
    overrides: Sequence[str] = (),
    references: Optional[Path] = None,
    preview: bool = False,
    start: Optional[Path] = None,
) -> Rendered:
    """Run the program under mocks, through the engine-faithful runner, and collect what it
    registered. ``program`` None: the ``main`` of the ``Pulumi.yaml`` at or above ``start``
    (default: the working directory). ``preview``: the first preview, unknowns as ``[unknown]``."""
    import pulumi
    from pulumi.runtime import mocks, rpc

    from ..settings.checks import ValidationError
    from . import runner

    try:
        project = runner.load_project(program or start or Path.cwd(), program)
        config, secret_keys = runner.stack_config(project, stack, overrides)
    except runner.ProgramError as error:
        raise RenderError(str(error)) from None

    registered: list[tuple[str, str, dict]] = []
    outputs: dict[str, dict] = {}
    resources: list[dict] = []

    class Monitor(mocks.MockMonitor):
        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                registered.append(
                    (
                        request.type,
                        request.name,
                        rpc.deserialize_properties(request.object, keep_unknowns=True),
                    )
                )
                resources.append(resource_options(request, response.urn))
            return response

        def RegisterResourceOutputs(self, request):
            outputs[request.urn] = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
            return super().RegisterResourceOutputs(request)

    mock = _mocks_class()(stack_references(project.root, stack, references))
    try:
        runner.run(
            project,
            stack,
            config,
            mock,
            secret_keys=secret_keys,
            monitor=Monitor(mock),
            preview=preview,
            undecrypted=True,
        )
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

    # Registration order depends on when Outputs resolve: sorted, so two renders compare.
    result = Rendered(
        kubernetes=[], aws=[], resources=sorted(resources, key=lambda r: (r["name"], r["type"]))
    )
    by_name = {r["name"]: r for r in result.resources}
    for type_, name, inputs in registered:
        result.types[type_] += 1
        clean = _redact(inputs)
        if type_.startswith("kubernetes:") and not type_.startswith("pulumi:providers"):
            manifest = _manifest(clean)
            result.kubernetes.append(manifest)
            meta = manifest.get("metadata", {})
            # Which object of kubernetes.yaml this resource is (the diff follows Pulumi's names).
            by_name[name]["object"] = (
                f"{manifest.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '')}"
            )
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


class _ReadableDumper(yaml.SafeDumper):
    """Multi-line strings (the fetch, migrate and backup scripts) as literal blocks."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        # A literal block cannot hold trailing spaces on a line: those keep the quoted style.
        if not any(line != line.rstrip() for line in value.splitlines()):
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_ReadableDumper.add_representer(str, _string)


def _documents(value: Any) -> Any:
    """JSON documents held in strings (IAM and bucket policies) as the objects they are."""
    if isinstance(value, dict):
        return {k: _documents(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_documents(v) for v in value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, (dict, list)):
            return {"json": parsed}
    return value


def write(result: Rendered, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "kubernetes.yaml").open("w") as handle:
        yaml.dump_all(result.kubernetes, handle, Dumper=_ReadableDumper, sort_keys=False, width=100)
    # aws.json keeps each input as sent (a policy is a JSON string); aws.yaml is for reading.
    (out / "aws.json").write_text(json.dumps(result.aws, indent=2, sort_keys=False) + "\n")
    (out / "aws.yaml").write_text(
        yaml.dump(_documents(result.aws), Dumper=_ReadableDumper, sort_keys=False, width=100)
    )
    (out / "resources.yaml").write_text(
        yaml.dump(result.resources, Dumper=_ReadableDumper, sort_keys=False, width=100)
    )
    (out / "outputs.json").write_text(json.dumps(result.outputs, indent=2, sort_keys=True) + "\n")
    from . import pictures

    pictures.write(result, out)


def summary(result: Rendered) -> str:
    lines = ["Resources by type:"]
    lines += [f"  {count:3d}  {type_}" for type_, count in sorted(result.types.items())]
    for obj in result.kubernetes:
        if obj.get("kind") in ("Deployment", "StatefulSet", "Job", "CronJob"):
            spec = obj["spec"]
            pod = (spec["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else spec)["template"][
                "spec"
            ]
            steps = [
                f"{c['name']} (sidecar)" if c.get("restartPolicy") == "Always" else c["name"]
                for c in pod.get("initContainers", [])
            ]
            lines.append(f"Pod of {obj['kind']} {obj['metadata']['name']}:")
            lines.append(f"  init order: {' -> '.join(steps) or '(none)'}")
            lines.append(f"  containers: {', '.join(c['name'] for c in pod['containers'])}")
    for name, outputs in sorted(result.outputs.items()):
        lines.append(
            f"DjangoApp {name}: effective pod requests {outputs.get('effective_pod_requests')}, limits {outputs.get('effective_pod_limits')}"
        )
        for kind, amounts in sorted((outputs.get("effective_resources") or {}).items()):
            lines.append(f"  {kind}: requests {amounts['requests']}, limits {amounts['limits']}")
    return "\n".join(lines)


def pictures_svg() -> bool:
    from . import pictures

    return pictures.dot_binary() is not None


def render_base(ref: str, stack: str, cwd: Optional[Path] = None) -> Path:
    """Render ``ref`` with the code of ``ref``: a detached git worktree in ``build/base-<sha>``,
    rendered by its own ``make render`` (so its own venv, package and stacks). Returns its output
    folder for ``--diff``."""
    cwd = cwd or Path.cwd()

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RenderError(f"--base {ref}: git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    top = Path(git("rev-parse", "--show-toplevel"))
    sha = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    tree = top / "build" / f"base-{sha[:12]}"
    if not tree.is_dir():
        git("worktree", "add", "--detach", str(tree), sha)
    made = subprocess.run(
        ["make", "-C", str(tree), "render", f"STACK={stack}"], capture_output=True, text=True
    )
    if made.returncode != 0:
        raise RenderError(
            f"--base {ref}: its own `make render STACK={stack}` failed:\n{made.stdout[-2000:]}{made.stderr[-2000:]}"
        )
    out = tree / "out" / stack
    if not (out / "resources.yaml").is_file():
        # A release older than resources.yaml: record its registrations (URNs, inputs, options)
        # with its own code and venv, through today's engine-faithful recorder.
        recorder = top / "scripts" / "upgrade_check.py"
        done = subprocess.run(
            [sys.executable, str(recorder), "record-tree", str(tree), stack, str(out / "registrations.json"),
             "--python", str(tree / ".venv" / "bin" / "python"), "--commit", sha],
            cwd=top, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RenderError(
                f"--base {ref}: recording its registrations failed:\n{done.stderr[-2000:]}"
            )
    return out


class _Prefixed(logging.Formatter):
    """``warning: <message>``, as the Pulumi CLI shows its warning channel."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    # The program's pulumi.log.warn reaches the mock engine, which logs it: shown prefixed.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Prefixed())
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)
    # The help is plain text: the docstring's reST literals lose their backticks.
    parser = argparse.ArgumentParser(
        prog="python -m pulumi_djangoapp.render",
        description=__doc__.split("\n\n")[0].replace("``", ""),
    )
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help=f"directory it writes {', '.join(OUT_FILES)} to (SVGs where Graphviz is installed)",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    parser.add_argument(
        "--program", type=Path, help="program folder or file (default: the main of ./Pulumi.yaml)"
    )
    parser.add_argument(
        "--preview",
        action="store_true",
        help="as the first preview: ids and cloud-computed values unknown",
    )
    parser.add_argument(
        "--stack-references",
        type=Path,
        help="YAML of other stacks' outputs (default: stack-references.<stack>.yaml)",
    )
    parser.add_argument(
        "--diff",
        type=Path,
        metavar="OLD_DIR",
        help="print what changes against an earlier render's --out folder",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="FILE",
        help="with --diff or --base: also write the diff as Markdown (for a pull request)",
    )
    parser.add_argument(
        "--base",
        metavar="GIT_REF",
        help="diff against GIT_REF rendered with its own code: a git worktree under build/ and its own venv (its Makefile)",
    )
    options = parser.parse_args(argv)
    try:
        result = render(
            options.program,
            options.stack,
            options.set,
            options.stack_references,
            preview=options.preview,
        )
    except RenderError as error:
        print(f"render: {error}", file=sys.stderr)
        return 2
    write(result, options.out)
    print(summary(result))
    print(
        f"Wrote {options.out / 'kubernetes.yaml'} ({len(result.kubernetes)} objects) and {options.out / 'aws.json'} ({len(result.aws)} resources)"
    )
    if options.base is not None:
        try:
            options.diff = render_base(options.base, options.stack)
        except RenderError as error:
            print(f"render: {error}", file=sys.stderr)
            return 2
    if options.diff is not None:
        from . import diff

        if not any((options.diff / f).is_file() for f in ("resources.yaml", "registrations.json")):
            print(
                f"render: --diff {options.diff}: not a render folder (no resources.yaml or registrations.json)",
                file=sys.stderr,
            )
            return 2
        changes = diff.diff(options.diff, options.out)
        print(diff.text(changes))
        if options.markdown is not None:
            options.markdown.write_text(diff.markdown(changes))
    print(
        f"Wrote {options.out / 'resources.yaml'} (options of {len(result.resources)} resources), aws.yaml, outputs.json and the pictures (graph.dot, pods.dot{', SVG' if pictures_svg() else ''})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
