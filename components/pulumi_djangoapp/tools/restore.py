"""Restore a backup: writes the restore Job for a stack and prints the runbook around it.

``python -m pulumi_djangoapp.restore --stack staging --bucket "$(pulumi stack output
backup_bucket_name)" --role-arn "$(pulumi stack output restore_role_arn)" [--key KEY]``

The Job (``<app>-restore``) downloads one archive (``--key``, or the newest under the app's
prefix) with the restore role (read-only), restores it into a new database and swaps it in, keeping the
database it replaces (``backups.RESTORE_SCRIPT``). Every writer must be stopped first: the
printed steps scale the web and process Deployments to zero, suspend the CronJobs, run the Job,
and bring everything back. Nothing here talks to the cluster: a person runs the printed commands.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

import yaml

from ..builders import backups
from ..builders.fetch import AwsRefs
from ..settings.app import Settings, normalise
from ..settings.checks import ValidationError
from . import runner, stack_config

_ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$")

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _cron_jobs(s: Settings) -> list[tuple[str, bool]]:
    """Every CronJob of the app, with whether the stack keeps it suspended."""
    assert s.backups is not None
    return [
        *((f"{s.name}-{c.name}", c.suspend) for c in s.schedules),
        (backups.name(s.name), s.backups.suspend),
    ]


def runbook(s: Settings, job_file: str, key: Optional[str]) -> str:
    ns, app = s.namespace, s.name
    deployments = [app, *(f"{app}-{p.name}" for p in s.processes)]
    cron_jobs = [c for c, _ in _cron_jobs(s)]
    writers = "app.kubernetes.io/instance={app},app.kubernetes.io/component in (web,process,schedule,migrate,backup)".format(
        app=app
    )
    source = key or f"the newest archive under {backups.prefix(ns, app)}/"
    lines = [
        f"Restore of DjangoApp {app} (namespace {ns}) from {source}.",
        "Do not run `pulumi up` until step 6: it would start the writers again.",
        "",
        "1. Note the replica counts, then stop every writer (an HPA stops scaling a Deployment at 0):",
        f"   kubectl -n {ns} get deployment {' '.join(deployments)}",
        *(f"   kubectl -n {ns} scale deployment {d} --replicas=0" for d in deployments),
        "2. Suspend the CronJobs (no scheduled run or backup during the restore):",
        *(
            f'   kubectl -n {ns} patch cronjob {c} -p \'{{"spec":{{"suspend":true}}}}\''
            for c in cron_jobs
        ),
        "3. Wait until no pod of the app is left, a running backup included (the database must have no connections):",
        f"   kubectl -n {ns} wait --for=delete pod -l '{writers}' --timeout=10m",
        "4. Restore (into a new database, then swapped in; the one it replaces is kept as",
        f"   {s.database.database_name[:40]}_before_<stamp>; any error stops it with the database unchanged):",
        f"   kubectl apply -f {job_file}",
        f"   kubectl -n {ns} wait --for=condition=complete job/{app}-restore --timeout={backups.DEADLINE_SECONDS // 60}m",
        f"   kubectl -n {ns} logs job/{app}-restore --all-containers",
        "   If it failed: read the logs, fix the cause, `kubectl delete job` it and apply it again;",
        "   the database is only changed by a run that gets past `download`.",
        "5. Check the data before letting traffic in, for example:",
        f"   kubectl -n {ns} exec statefulset/{app}-postgres -- psql -U {s.database.username} -d {s.database.database_name} -c '\\dt+'",
        "6. Bring everything back (the counts noted in step 1; `pulumi up` alone would not: an",
        "   autoscaled Deployment's replicas are the HPA's, not the stack's), then clean up:",
        *(
            f"   kubectl -n {ns} scale deployment {d} --replicas=<count from step 1>"
            for d in deployments
        ),
        *(
            f'   kubectl -n {ns} patch cronjob {c} -p \'{{"spec":{{"suspend":false}}}}\''
            for c, suspended in _cron_jobs(s)
            if not suspended
        ),
        f"   kubectl -n {ns} delete job {app}-restore",
        "   pulumi preview   # expect no changes",
        "7. Once the data is checked, drop the database the restore replaced (its name is in the Job's log):",
        f"   kubectl -n {ns} exec statefulset/{app}-postgres -- psql -U {s.database.username} -d postgres -c 'DROP DATABASE \"<name>\"'",
    ]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pulumi_djangoapp.restore", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument(
        "--bucket", required=True, help="the backup bucket: pulumi stack output backup_bucket_name"
    )
    parser.add_argument(
        "--role-arn",
        required=True,
        help="the restore role (reads archives only): pulumi stack output restore_role_arn",
    )
    parser.add_argument("--key", help="the archive to restore (default: the newest)")
    parser.add_argument(
        "--out",
        default="restore-job.yaml",
        help="where to write the Job (default: restore-job.yaml)",
    )
    options = parser.parse_args(argv)
    try:
        project = runner.load_project(Path.cwd())
        config, _ = runner.stack_config(project, options.stack)
        name, args = stack_config.args_from_config(
            lambda k: config.get(f"{project.name}:{k}"), project.name, project.root
        )
        s = normalise(name, args)
    except (runner.ProgramError, ValidationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if s.backups is None or s.aws is None:
        print(
            f"error: stack {options.stack!r} has no backups (set djangoapp:backupSchedule)",
            file=sys.stderr,
        )
        return 2
    problems = []
    if not _ROLE_ARN.match(options.role_arn):
        problems.append(
            f"--role-arn {options.role_arn!r} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>): pulumi stack output restore_role_arn"
        )
    if not _BUCKET.match(options.bucket):
        problems.append(
            f"--bucket {options.bucket!r} is not an S3 bucket name (3 to 63 of a-z 0-9 . -): pulumi stack output backup_bucket_name"
        )
    if options.key is not None and not options.key.startswith(
        backups.prefix(s.namespace, s.name) + "/"
    ):
        problems.append(
            f"--key {options.key!r} is not under this app's prefix {backups.prefix(s.namespace, s.name)}/"
        )
    if problems:
        print("\n".join(f"error: {p}" for p in problems), file=sys.stderr)
        return 2
    refs = AwsRefs(
        bucket=options.bucket, region=s.aws.region, secret_ids={}, role_arn=options.role_arn
    )
    job = backups.restore_job(s, refs, options.key)
    Path(options.out).write_text(yaml.safe_dump(job, sort_keys=False, width=100))
    print(runbook(s, options.out, options.key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
