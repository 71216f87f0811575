"""Every name, description and tag the component sends to AWS, checked against the AWS
provider's own validation (the AWS side runs under mocks: the provider would refuse at preview
what these rules refuse here).

Rules read in terraform-provider-aws (module v1.60.1-0.20260602190131-5f2286d6d836, the one
the Go module proxy serves), which pulumi-aws 7 bridges unchanged:
- ``internal/service/ec2/validate.go`` ``validSecurityGroupRuleDescription``: rule descriptions,
  at most 255 of ``A-Za-z0-9 ._-:/()#,@[]+=&;{}!$*``. ``vpc_security_group.go``: the group's
  description at most 255 (the EC2 API refuses the same characters as for rules in a VPC
  group's description: API_CreateSecurityGroup, "Constraints for EC2-VPC").
- ``internal/service/iam/role.go``: description at most 1000, no typographic quotes; names
  ``validResourceName(64)`` (``[\\w+=,.@-]``); ``role_policy.go``: ``validResourceName(128)``.
- ``internal/service/rds/validate.go``: ``validSubnetGroupName`` (``[0-9a-z_ .-]``, 255, not
  "default"), ``validParamGroupName`` (``[0-9a-z.-]``, a letter first, no ``--``, no trailing
  ``-``, 255), ``validIdentifier`` (instance: ``[0-9a-z-]``, a letter first, no ``--``, no
  trailing ``-``); ``instance.go``: ``final_snapshot_identifier`` (``[0-9A-Za-z-]``, a letter
  first, no ``--``, no trailing ``-``).
- ``internal/service/secretsmanager/validate.go`` ``validSecretNamePrefix``
  (``[0-9A-Za-z/_+=.@-]``, 512 less the 26 characters the provider appends).
- S3 bucket names (the bucket's autoname): 3 to 63 of ``[a-z0-9.-]``, a letter or digit at each
  end (S3 "Bucket naming rules"). Tags: keys 1 to 128, values at most 256, no ``aws:`` prefix.

Auto-named resources get ``<resource name>-<7 hex>`` (pulumi-terraform-bridge's ``AutoName``):
that name is checked too, for the longest app name the component accepts.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

import pytest
from conftest import MINIMAL, POD_IDENTITY, ROOT
from harness import Registration, run_program, run_project

from pulumi_djangoapp import DjangoApp
from pulumi_djangoapp.settings import rds
from pulumi_djangoapp.settings.app import MAX_NAME_LENGTH

Check = Callable[[str], Optional[str]]

_EC2_DESCRIPTION = re.compile(r"^[0-9A-Za-z_ .:/()#,@\[\]+=&;{}!$*-]*$")
_IAM_NAME = re.compile(r"^[\w+=,.@-]*$")


def ec2_description(value: str) -> Optional[str]:
    if len(value) > 255:
        return "is longer than 255 characters"
    if not _EC2_DESCRIPTION.match(value):
        bad = sorted({c for c in value if not _EC2_DESCRIPTION.match(c)})
        return f"has characters EC2 refuses: {bad}"
    return None


def iam_description(value: str) -> Optional[str]:
    if len(value) > 1000:
        return "is longer than 1000 characters"
    if re.search("[\u201c\u2018]", value):
        return "has typographic quotes"
    return None


def length(maximum: int, minimum: int = 0) -> Check:
    return lambda value: (
        None if minimum <= len(value) <= maximum else f"must be {minimum} to {maximum} characters"
    )


def pattern(regex: str, what: str) -> Check:
    compiled = re.compile(regex)
    return lambda value: None if compiled.search(value) else what


def refuses(regex: str, what: str) -> Check:
    compiled = re.compile(regex)
    return lambda value: what if compiled.search(value) else None


def iam_name(maximum: int) -> list[Check]:
    return [length(maximum, 1), pattern(_IAM_NAME.pattern, r"must match [\w+=,.@-]")]


RDS_IDENTIFIER = [
    pattern(r"^[0-9a-z-]+$", "only lower-case letters, digits and hyphens"),
    pattern(r"^[a-z]", "must start with a letter"),
    refuses(r"--", "must not contain '--'"),
    refuses(r"-$", "must not end with '-'"),
]

# type -> {field: checks}; a field "x[].y" is y of every item of the list x, "@name" the
# auto-name the provider derives from the resource name.
RULES: dict[str, dict[str, list[Check]]] = {
    "aws:ec2/securityGroup:SecurityGroup": {
        "description": [ec2_description],
        "ingress[].description": [ec2_description],
        "egress[].description": [ec2_description],
        "@name": [length(255), refuses(r"^sg-", "must not start with 'sg-'")],
    },
    "aws:iam/role:Role": {"description": [iam_description], "@name": iam_name(64)},
    "aws:iam/rolePolicy:RolePolicy": {"@name": iam_name(128)},
    "aws:rds/subnetGroup:SubnetGroup": {
        "@name": [
            pattern(r"^[0-9a-z_ .-]+$", "only [0-9a-z_ .-]"),
            length(255),
            refuses(r"(?i)^default$", "must not be 'default'"),
        ],
        "description": [length(255, 1)],
    },
    "aws:rds/parameterGroup:ParameterGroup": {
        "@name": [pattern(r"^[0-9a-z.-]+$", "only [0-9a-z.-]"), *RDS_IDENTIFIER[1:], length(255)],
        "description": [length(255, 1)],
    },
    "aws:rds/instance:Instance": {
        "@identifier": [*RDS_IDENTIFIER, length(63)],
        "finalSnapshotIdentifier": [
            pattern(r"^[0-9A-Za-z-]+$", "only letters, digits and hyphens"),
            *RDS_IDENTIFIER[1:],
            length(255),
        ],
    },
    "aws:secretsmanager/secret:Secret": {
        "namePrefix": [
            pattern(r"^[0-9A-Za-z/_+=.@-]+$", "only [0-9A-Za-z/_+=.@-]"),
            length(512 - 26, 1),
        ],
        "description": [length(2048)],
    },
    "aws:s3/bucket:Bucket": {
        "@bucket": [
            length(63, 3),
            pattern(
                r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$", "only [a-z0-9.-], a letter or digit at each end"
            ),
        ],
    },
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": {},
    "aws:secretsmanager/secretVersion:SecretVersion": {},
    **{
        f"aws:s3/{kind}:{kind[0].upper()}{kind[1:]}": {}
        for kind in (
            "bucketLifecycleConfiguration",
            "bucketObjectv2",
            "bucketOwnershipControls",
            "bucketPolicy",
            "bucketPublicAccessBlock",
            "bucketServerSideEncryptionConfiguration",
            "bucketVersioning",
        )
    },  # fmt: skip
}
TAG_KEY = [length(128, 1), refuses(r"^aws:", "must not start with 'aws:'")]
TAG_VALUE = [length(256)]
# What the bridge appends to an auto-named resource: "-" and 7 hex digits.
AUTONAME_SUFFIX = "-0a1b2c3"


def values(inputs: dict, path: str) -> list[str]:
    if "[]." in path:
        items, field = path.split("[].", 1)
        return [
            item[field]
            for item in inputs.get(items) or []
            if isinstance(item, dict) and field in item
        ]
    return [inputs[path]] if path in inputs else []


def problems_of(r: Registration) -> list[str]:
    found = []
    rules = RULES.get(r.type)
    if rules is None:
        return [f"{r.type} {r.name}: no provider rules recorded for this type: add them to RULES"]
    for path, checks in rules.items():
        if path.startswith("@"):
            # Set explicitly, the value is checked; otherwise the auto-name the provider makes.
            candidates = values(r.inputs, path[1:]) or [f"{r.name}{AUTONAME_SUFFIX}"]
        else:
            candidates = values(r.inputs, path)
        for value in candidates:
            if not isinstance(value, str):
                continue
            for check in checks:
                problem = check(value)
                if problem:
                    found.append(f"{r.type} {r.name} {path} = {value!r}: {problem}")
    for key, value in (r.inputs.get("tags") or {}).items():
        for check in TAG_KEY:
            if check(key):
                found.append(f"{r.name} tag key {key!r}: {check(key)}")
        for check in TAG_VALUE:
            if isinstance(value, str) and check(value):
                found.append(f"{r.name} tag {key} = {value!r}: {check(value)}")
    return found


def aws_registrations(registrations: list[Registration]) -> list[Registration]:
    return [r for r in registrations if r.custom and r.type.startswith("aws:")]


def longest(length: int) -> str:
    return "a" * (length - 4) + "-app"


SUBNETS = ["subnet-0a1b2c3d", "subnet-0a1b2c3e"]
RDS = {
    "provider": "rds",
    "rds": {"subnet_ids": SUBNETS, "client_security_group_ids": ["sg-0c1d2e3f"]},
}
KMS = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CONFIG = str(ROOT / "config" / "prod")
# Each with the longest app name it accepts.
EVERYTHING = {
    "in-cluster database, backups, config files, pod identity, KMS": (
        MAX_NAME_LENGTH,
        {**POD_IDENTITY, "backups": {}, "kms_key_arn": KMS, "config_dir": CONFIG},
    ),
    "RDS over OIDC, KMS, protected": (
        rds.MAX_APP_NAME_LENGTH,
        {**MINIMAL, "database": RDS, "kms_key_arn": KMS, "protect_data": True},
    ),
}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "local"])
def test_every_stack_sends_aws_only_names_descriptions_and_tags_its_provider_accepts(stack):
    run = run_project(ROOT, stack)
    found = [p for r in aws_registrations(run.registrations) for p in problems_of(r)]
    assert found == []


@pytest.mark.parametrize("case", sorted(EVERYTHING))
def test_the_longest_app_name_with_every_aws_feature_passes_the_provider_rules(case):
    length, args = EVERYTHING[case]
    run = run_program(lambda: DjangoApp(longest(length), args).urn)
    registered = aws_registrations(run.registrations)
    assert len({r.type for r in registered}) >= 9
    assert [p for r in registered for p in problems_of(r)] == []


def test_the_rds_security_group_rule_description_is_one_ec2_accepts():
    run = run_program(lambda: DjangoApp("shop", {**MINIMAL, "database": RDS}).urn)
    (group,) = [r for r in run.registrations if r.type == "aws:ec2/securityGroup:SecurityGroup"]
    (description,) = values(group.inputs, "ingress[].description")
    assert ec2_description(description) is None, description


def test_the_rules_can_refuse_what_the_provider_refuses():
    # The description every RDS stack sent before: refused by validSecurityGroupRuleDescription.
    assert (
        ec2_description("PostgreSQL from the app's clients") == 'has characters EC2 refuses: ["\'"]'
    )
    assert ec2_description("x" * 256) == "is longer than 255 characters"
    assert ec2_description("PostgreSQL 5432 from sg-1 (clients), ok: [a]+{b}") is None
    bad = Registration(
        "aws:rds/instance:Instance",
        "Shop--db",
        "urn",
        "",
        True,
        {"finalSnapshotIdentifier": "1-final-"},
        False,
        False,
    )
    assert len(problems_of(bad)) == 5
    unknown = Registration("aws:sqs/queue:Queue", "shop-q", "urn", "", True, {}, False, False)
    assert problems_of(unknown) == [
        "aws:sqs/queue:Queue shop-q: no provider rules recorded for this type: add them to RULES"
    ]
    assert iam_name(64)[0]("r" * 65) and iam_name(64)[1]("role name")
    tagged = Registration(
        "aws:s3/bucket:Bucket", "b", "urn", "", True, {"tags": {"aws:x": "v" * 257}}, False, False
    )
    assert len(problems_of(tagged)) == 2


def test_every_aws_type_with_rules_is_one_the_component_can_register():
    # Rules for a type nothing registers would be dead weight that looks like coverage.
    seen = set()
    for _, case in EVERYTHING.values():
        seen |= {
            r.type
            for r in aws_registrations(
                run_program(lambda case=case: DjangoApp("shop", case).urn).registrations
            )
        }
    assert set(RULES) == seen
