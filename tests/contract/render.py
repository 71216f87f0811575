"""The component rendered under mocks that create its AWS resources in moto for real."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import RecordingMocks, Run, fake_password, run_program, unwrap_secrets

from pulumi_djangoapp import DjangoApp

from .services import Moto, free_port

OIDC = {
    "oidc_provider_arn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/C0FFEE",
    "oidc_provider_url": "https://oidc.eks.us-east-1.amazonaws.com/id/C0FFEE",
}
CONFIG = {"app.toml": "[features]\nnew_checkout = true\n"}


class MotoMocks(RecordingMocks):
    """Mocks whose AWS resources exist: buckets, objects, secrets and roles are created in moto
    with exactly the inputs the component registered."""

    def __init__(self, moto: Moto):
        super().__init__()
        self.s3, self.sm, self.iam = (
            moto.client("s3"),
            moto.client("secretsmanager"),
            moto.client("iam"),
        )

    def new_resource(self, args):
        resource_id, state = super().new_resource(args)
        inputs = unwrap_secrets(args.inputs)
        suffix = uuid.uuid4().hex[:8]
        if args.typ == "aws:s3/bucket:Bucket":
            name = f"{args.name}-{suffix}"
            self.s3.create_bucket(Bucket=name)
            return name, {**state, "bucket": name, "arn": f"arn:aws:s3:::{name}"}
        if args.typ == "aws:s3/bucketObjectv2:BucketObjectv2":
            self.s3.put_object(
                Bucket=inputs["bucket"], Key=inputs["key"], Body=inputs["content"].encode()
            )
        if args.typ == "aws:secretsmanager/secret:Secret":
            arn = self.sm.create_secret(Name=inputs["namePrefix"] + suffix)["ARN"]
            return arn, {**state, "arn": arn}
        if args.typ == "aws:secretsmanager/secretVersion:SecretVersion":
            self.sm.put_secret_value(
                SecretId=inputs["secretId"], SecretString=inputs["secretString"]
            )
        if args.typ == "aws:iam/role:Role":
            role = self.iam.create_role(
                RoleName=f"{args.name}-{suffix}",
                AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
            )
            return role["Role"]["RoleName"], {**state, "arn": role["Role"]["Arn"]}
        return resource_id, state


@dataclass
class Rendered:
    run: Run
    tmp: Path
    args: dict
    password: str

    def pod(self) -> dict:
        return self.run.one("Deployment", "shop-deployment").inputs["spec"]["template"]["spec"]

    def job_pod(self) -> dict:
        return self.run.one(":Job").inputs["spec"]["template"]["spec"]

    def schedule_pod(self, name: str) -> dict:
        """The pod each run of the CronJob ``<app>-<name>`` starts."""
        cron = next(
            r
            for r in self.run.of_type(":CronJob")
            if r.inputs["metadata"]["name"] == f"shop-{name}"
        )
        return cron.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]

    def process_pod(self, name: str) -> dict:
        """The pod of the process Deployment ``<app>-<name>``."""
        deployment = next(
            r
            for r in self.run.of_type(":Deployment")
            if r.inputs["metadata"]["name"] == f"shop-{name}"
        )
        return deployment.inputs["spec"]["template"]["spec"]

    def broker_command(self) -> list[str]:
        (server,) = self.run.one(":StatefulSet").inputs["spec"]["template"]["spec"]["containers"]
        return server["command"]

    def broker_acl(self) -> str:
        """The ACL file as the credentials Secret delivers it to the broker pod."""
        return unwrap_secrets(self.run.one("core/v1:Secret").inputs["stringData"])[
            "broker-users.acl"
        ]

    def cache_command(self) -> list[str]:
        deployment = next(
            r
            for r in self.run.of_type(":Deployment")
            if r.inputs["metadata"]["name"] == "shop-cache"
        )
        (server,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
        return server["command"]

    def credentials(self, key: str) -> str:
        """A key of the credentials Secret, as the Secret delivers it to the pods."""
        return unwrap_secrets(self.run.one("core/v1:Secret").inputs["stringData"])[key]

    def container(self, name: str, pod: dict | None = None) -> dict:
        spec = pod or self.pod()
        (found,) = [c for c in [*spec["initContainers"], *spec["containers"]] if c["name"] == name]
        return found


def render(tmp: Path, moto: Moto, db_port: int, db_name: str, **overrides: Any) -> Rendered:
    args = {
        "image": "ghcr.io/example/django-shop:0.1.0",
        "port": free_port(),
        "config_files": CONFIG,
        "config_mount_path": str(tmp / "config"),
        "secrets_mount_path": str(tmp / "secrets"),
        "database": {
            "host": "127.0.0.1",
            "port": db_port,
            "database_name": db_name,
            "username": db_name,
        },
        "aws_region": "us-east-1",
        "aws_endpoint_url": moto.endpoint,
        "db_wait_timeout_seconds": 15,
        **OIDC,
        **overrides,
    }
    (tmp / "config").mkdir(exist_ok=True)
    (tmp / "secrets").mkdir(exist_ok=True)
    run = run_program(lambda: DjangoApp("shop", args).namespace, mocks=MotoMocks(moto))
    return Rendered(run, tmp, args, fake_password("shop-secrets-db-password", 32))
