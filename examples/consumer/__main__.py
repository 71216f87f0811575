"""Two DjangoApps in one cluster, configured from the platform stack."""

import gc

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from pulumi_djangoapp import (
    BrokerArgs,
    DjangoApp,
    DjangoAppArgs,
    PostgresArgs,
    ProcessArgs,
    RdsArgs,
    SidecarArgs,
)

# Opt-in for a program that registers many apps: after the imports, hide the SDKs' modules from
# the collector and collect less often (CONTRIBUTING "Speed": measured, not assumed).
gc.collect()
gc.freeze()
gc.set_threshold(50_000, 20, 20)

config = pulumi.Config()
platform = pulumi.StackReference("platform", stack_name=config.require("platformStack"))
cluster = {
    "oidc_provider_arn": platform.require_output("oidcProviderArn"),
    "oidc_provider_url": platform.require_output("oidcProviderUrl"),
    "aws_region": platform.require_output("region"),
}
aws_provider = aws.Provider("aws", region=cluster["aws_region"])
# The cluster this stack deploys to, by name: never the machine's current kube context.
kube = k8s.Provider("kubernetes", context=config.require("kubeContext"))
opts = pulumi.ResourceOptions(providers={"aws": aws_provider, "kubernetes": kube})
# The platform team's StorageClass (EKS clusters created on 1.30+ have no default class).
database = {"storage_class": config.require("storageClass")}

web = DjangoApp(
    "web",
    DjangoAppArgs(
        image=config.require("webImage"),
        namespace="shop-web",
        replicas=3,
        # PostgreSQL on RDS in the platform's private database subnets, reachable from the
        # cluster security group only: both come from the platform stack.
        database=PostgresArgs(
            provider="rds",
            rds=RdsArgs(
                subnet_ids=platform.require_output("databaseSubnetIds"),
                client_security_group_ids=platform.require_output("clusterSecurityGroupId").apply(
                    lambda group: [group]
                ),
            ),
        ),
        # One Celery worker beside gunicorn, queueing on an in-cluster Valkey.
        processes=[
            ProcessArgs(
                name="worker", command=["celery", "-A", "project", "worker", "--loglevel", "INFO"]
            )
        ],
        broker=BrokerArgs(storage_class=config.require("storageClass")),
        **cluster,
    ),
    opts,
)
admin = DjangoApp(
    "admin",
    DjangoAppArgs(
        image=config.require("adminImage"),
        namespace="shop-admin",
        replicas=1,
        migrations="job",
        database=database,
        sidecars=[
            SidecarArgs(
                name="log-shipper",
                image=config.require("logShipperImage"),
                args=["-i", "tail", "-p", "path=/var/log/app/*.log", "-o", "stdout"],
                volume_mounts={"logs": "/var/log/app"},
            )
        ],
        **cluster,
    ),
    opts,
)

for label, app in (("web", web), ("admin", admin)):
    pulumi.export(f"{label}_namespace", app.namespace)
    pulumi.export(f"{label}_service", app.service_name)
    pulumi.export(f"{label}_role_arn", app.role_arn)
pulumi.export("web_database_endpoint", web.database_endpoint)
pulumi.export("web_database_master_secret_arn", web.database_master_secret_arn)
