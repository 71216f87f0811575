"""``RdsDatabase``: the RDS side of ``database.provider: rds`` (see ``rds`` for the rules).

Children: ``<name>-subnets`` (DB subnet group), ``<name>-sg`` (5432 from the client security
groups only, no egress), ``<name>-params`` (parameter group of the engine's family) and
``<name>-instance``. Under ``protect_data`` the instance is protected, has deletion protection,
keeps its automated backups after deletion and leaves a final snapshot named uniquely.
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from ..builders import rds
from ..settings import rds as rds_settings
from ..settings.app import Settings

TYPE_TOKEN = "djangoapp:index:RdsDatabase"


def _field(value: Any, name: str) -> Any:
    """A field of a typed SDK output object, or of the plain dict mocks and old SDKs return."""
    found = getattr(value, name, None)
    return found if found is not None else (value.get(name) if isinstance(value, dict) else None)


def _master_secret_arn(secrets: Any) -> Optional[str]:
    for secret in secrets or []:
        arn = _field(secret, "secret_arn")
        if arn:
            return arn
    return None


def _one_vpc(subnets: list) -> str:
    vpcs = sorted({_field(s, "vpc_id") for s in subnets})
    if len(vpcs) != 1:
        raise ValueError(
            f"database.rds.subnet_ids: the subnets are in {len(vpcs)} VPCs ({', '.join(map(str, vpcs))}); they must share one"
        )
    return vpcs[0]


class RdsDatabase(pulumi.ComponentResource):
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    master_secret_arn: pulumi.Output[str]
    # The subnets' IPv4 CIDRs: where the instance (and its standby) can be.
    cidrs: pulumi.Output[list]

    def __init__(
        self,
        name: str,
        s: Settings,
        final_snapshot_suffix: Any,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__(TYPE_TOKEN, name, {}, opts)
        r = s.database.rds
        assert r is not None and s.aws is not None
        child = pulumi.ResourceOptions(parent=self)
        subnet_ids = pulumi.Output.from_input(r.subnet_ids).apply(rds_settings.checked_subnet_ids)
        subnets = subnet_ids.apply(
            lambda ids: pulumi.Output.all(
                *[
                    aws.ec2.get_subnet_output(id=i, opts=pulumi.InvokeOutputOptions(parent=self))
                    for i in ids
                ]
            )
        )
        subnets = subnets.apply(
            lambda found: rds_settings.checked_zones(
                found, lambda x: _field(x, "availability_zone")
            )
        )
        self.cidrs = subnets.apply(lambda found: [_field(x, "cidr_block") for x in found])
        group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=subnet_ids,
            description=f"DjangoApp {s.name} in {s.namespace}",
            opts=child,
        )
        firewall = aws.ec2.SecurityGroup(
            f"{name}-sg",
            description=f"PostgreSQL of DjangoApp {s.name} in {s.namespace}: {s.database.port} from its clients only",
            vpc_id=subnets.apply(_one_vpc),
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    description=f"PostgreSQL from the clients of DjangoApp {s.name}",
                    protocol="tcp",
                    from_port=s.database.port,
                    to_port=s.database.port,
                    security_groups=pulumi.Output.from_input(r.client_security_group_ids).apply(
                        rds_settings.checked_security_group_ids
                    ),
                )
            ],
            # An empty list removes the default allow-all egress: the server opens nothing.
            egress=[],
            opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            family=r.family,
            description=f"DjangoApp {s.name}: TLS only",
            parameters=rds.parameters(),
            opts=child,
        )
        keep = s.protect_data
        instance = aws.rds.Instance(
            f"{name}-instance",
            db_subnet_group_name=group.name,
            vpc_security_group_ids=[firewall.id],
            parameter_group_name=parameters.name,
            **rds.instance_args(
                r,
                keep,
                s.database.port,
                s.aws.kms_key_arn,
                pulumi.Output.from_input(final_snapshot_suffix).apply(
                    lambda suffix: rds.snapshot_identifier(s.name, suffix)
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=keep, retain_on_delete=keep),
        )
        self.address = instance.address
        self.port = instance.port
        self.master_secret_arn = instance.master_user_secrets.apply(_master_secret_arn)
        self.instance = instance
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "master_secret_arn": self.master_secret_arn,
            }
        )
