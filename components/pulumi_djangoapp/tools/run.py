"""One-off commands in the app's context: writes a Job (or, with ``--interactive``, a Pod to
attach to) that runs a command once with the app's plumbing, and prints how to follow it.

``python -m pulumi_djangoapp.run --stack staging --outputs outputs.json -- python manage.py
createsuperuser --noinput`` where ``outputs.json`` is ``pulumi stack output --json -s staging``
(the AWS backend needs the bucket, role and secret ARNs it names; no secret is in it).

Same image, fetch steps, secret files, wait-for-db and the wait for migrations as the app's pods,
the app's ServiceAccount and the ``run`` NetworkPolicy; it never migrates. Nothing here talks to
the cluster: a person applies the file and runs the printed commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from ..builders import one_off, rds
from ..builders.fetch import AwsRefs
from ..settings.app import Settings, normalise
from ..settings.checks import ValidationError
from . import runner, stack_config


class UsageError(Exception):
    pass


def refs_from_outputs(s: Settings, outputs: dict[str, Any], region: Optional[str]) -> AwsRefs:
    """What the AWS side of the stack made, from ``pulumi stack output --json``."""
    assert s.aws is not None
    missing = [k for k in ("bucket_name", "role_arn", "secret_arns") if not outputs.get(k)]
    if s.database.provider == "rds" and not outputs.get("database_endpoint"):
        missing.append("database_endpoint")
    if missing:
        raise UsageError(
            f"the outputs lack {', '.join(missing)}: write them with `pulumi stack output --json` "
            "after an up of this release (secret_arns is an output from 0.6.0 on)"
        )
    region = region or s.aws.region
    if not isinstance(region, str):
        raise UsageError("the stack sets no awsRegion: give the region with --region")
    unknown = {f.key for f in s.secret_files} - set(outputs["secret_arns"])
    if unknown:
        raise UsageError(f"secret_arns has no secret for {', '.join(sorted(unknown))}")
    refs = AwsRefs(
        bucket=outputs["bucket_name"],
        region=region,
        secret_ids=outputs["secret_arns"],
        role_arn=outputs["role_arn"],
    )
    if s.database.provider == "rds":
        assert s.database.rds is not None
        refs = dataclasses.replace(
            refs,
            database_host=outputs["database_endpoint"],
            ca_bundle_url=rds.ca_bundle_url(s.database.rds, region),
        )
    return refs


def instructions(s: Settings, kind: str, name: str, file: str, deadline: int) -> str:
    ns = s.namespace
    if kind == "Pod":
        return "\n".join(
            [
                f"One-off pod {name} of DjangoApp {s.name} (namespace {ns}): it waits for the database",
                "and the migrations like the app's pods, then the command reads your terminal.",
                f"  kubectl apply -f {file}",
                f"  kubectl -n {ns} wait --for=condition=Ready pod/{name} --timeout=10m",
                f"  kubectl -n {ns} attach -it pod/{name} -c {one_off.CONTAINER}",
                f"  kubectl -n {ns} delete pod {name}     # when done (it stops by itself after {deadline // 60} min)",
            ]
        )
    return "\n".join(
        [
            f"One-off Job {name} of DjangoApp {s.name} (namespace {ns}): run once, never retried",
            f"(a command may not be idempotent), stopped after {deadline // 60} min, deleted a day after it ends.",
            f"  kubectl apply -f {file}",
            f"  kubectl -n {ns} logs -f job/{name} -c {one_off.CONTAINER}",
            f"  kubectl -n {ns} wait --for=condition=complete job/{name} --timeout={deadline // 60}m",
            f"  kubectl -n {ns} delete job {name}     # or leave it to the TTL",
        ]
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pulumi_djangoapp.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--outputs", help="`pulumi stack output --json` of the stack (AWS backend)")
    parser.add_argument("--region", help="AWS region when the stack sets no awsRegion")
    parser.add_argument("--interactive", action="store_true", help="a Pod to attach to (shell)")
    parser.add_argument(
        "--deadline",
        type=int,
        default=one_off.DEFAULT_DEADLINE_SECONDS,
        help="seconds (default 3600)",
    )
    parser.add_argument("--name", help="object name (default: <app>-run-<UTC time>)")
    parser.add_argument("--out", help="file to write (default: <name>.yaml)")
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, help="-- then the command and its arguments"
    )
    options = parser.parse_args(argv)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    try:
        if not command:
            raise UsageError("give the command after --, e.g. -- python manage.py showmigrations")
        if not 60 <= options.deadline <= 86400:
            raise UsageError(f"--deadline {options.deadline} must be 60 to 86400 seconds")
        project = runner.load_project(Path.cwd())
        config, _ = runner.stack_config(project, options.stack)
        app_name, args = stack_config.args_from_config(
            lambda k: config.get(f"{project.name}:{k}"), project.name, project.root
        )
        s = normalise(app_name, args)
        refs = None
        if s.uses_aws:
            if not options.outputs:
                raise UsageError(
                    f"stack {options.stack!r} keeps its config and secrets in AWS: give "
                    f"--outputs (pulumi stack output --json -s {options.stack} > outputs.json)"
                )
            refs = refs_from_outputs(
                s, json.loads(Path(options.outputs).read_text()), options.region
            )
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
        name = options.name or f"{s.name}-run-{stamp}"
        if len(name) > 63:
            raise UsageError(f"--name {name!r} is longer than 63 characters")
        build = one_off.pod if options.interactive else one_off.job
        obj = build(s, refs, name, command, options.deadline)
    except (runner.ProgramError, ValidationError, UsageError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = options.out or f"{name}.yaml"
    Path(out).write_text(yaml.safe_dump(obj, sort_keys=False, width=100))
    print(instructions(s, obj["kind"], name, out, options.deadline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
