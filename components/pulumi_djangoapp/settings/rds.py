"""The arguments of a PostgreSQL server on Amazon RDS (``RdsArgs``) and every check that AWS,
RDS or PostgreSQL would otherwise make only at ``pulumi up``: identifiers and their lengths,
reserved master names, subnets in two zones, storage autoscaling's 10 % margin, the CA bundle of
the region's partition. The instance's arguments, the role Job and its SQL are in
``builders/rds.py``; the AWS resources in ``components/rds.py``."""

import re
from dataclasses import dataclass
from typing import Any, List, NotRequired, Optional, Sequence, TypedDict

import pulumi

from .checks import Problems, checked_bool, given_args, is_int

PROVIDERS = ("in-cluster", "rds", "external")

DEFAULT_ENGINE_VERSION = "17"

# rds.force_ssl is already 1 from PostgreSQL 15; older majors would need a reboot to enforce it.
OLDEST_MAJOR = 15

DEFAULT_INSTANCE_CLASS = "db.t4g.medium"

DEFAULT_ALLOCATED_GB = 20

DEFAULT_MAX_ALLOCATED_GB = 100

# The RDS API bounds for gp3 PostgreSQL storage.
MIN_ALLOCATED_GB = 20

MAX_ALLOCATED_GB = 65536

DEFAULT_RETENTION_DAYS = 7

MIN_RETENTION_DAYS = 7

MAX_RETENTION_DAYS = 35

DEFAULT_LOG_EXPORTS = ("postgresql", "upgrade")

LOG_EXPORTS = ("postgresql", "upgrade", "iam-db-auth-error")

DEFAULT_MASTER_USERNAME = "dbadmin"

# AWS's regional trust store, per partition (Amazon RDS User Guide, "Using SSL/TLS to encrypt a
# connection to a DB instance or cluster", certificate bundles by AWS Region: commercial and, in
# "Certificate bundles for AWS GovCloud (US) Regions", GovCloud, on docs.aws.amazon.com; China's
# on the same page of docs.amazonaws.cn). Other partitions (ISO, European Sovereign Cloud) have no
# URL we can cite: their stacks must set ca_bundle_url.
CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"

CA_BUNDLE_URLS_BY_PREFIX = (
    (
        "us-gov-",
        "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/{region}/{region}-bundle.pem",
    ),
    ("cn-", "https://rds-truststore.s3.cn-north-1.amazonaws.com.cn/{region}/{region}-bundle.pem"),
)

UNCITED_REGION_PREFIXES = ("us-iso", "eu-isoe-", "eusc-")

# CreateDBInstance, MasterUsername (Amazon RDS API Reference): 1 to 16 letters, digits or
# underscores, a letter first, not a reserved word of the engine. Lower case: PostgreSQL folds
# unquoted names, and the role SQL quotes them.
_MASTER_USERNAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")

# PostgreSQL's reserved key words (pg_get_keywords() catcode R and T) of 15 and 16 together (16
# added system_user; the contract tests ask both servers): not usable as a master user name.
RESERVED_WORDS = frozenset(
    """all analyse analyze and any array as asc asymmetric authorization binary both case cast
    check collate collation column concurrently constraint create cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user default
    deferrable desc distinct do else end except false fetch for foreign freeze from full grant
    group having ilike in initially inner intersect into is isnull join lateral leading left like
    limit localtime localtimestamp natural not notnull null offset on only or order outer
    overlaps placing primary references returning right select session_user similar some
    symmetric system_user table tablesample then to trailing true union unique user using
    variadic verbose when where window with""".split()
)

# Roles and databases an RDS for PostgreSQL instance has of its own (Amazon RDS User Guide,
# "Understanding PostgreSQL roles and permissions": rdsadmin, the rds_* roles; PostgreSQL's pg_*
# roles; the postgres, template0, template1 and rdsadmin databases).
RDS_RESERVED_ROLE_PREFIXES = ("pg_", "rds_")

RDS_RESERVED_ROLES = frozenset({"rdsadmin", "rdsrepladmin", "rdstopmgr", "postgres", "public"})

RDS_RESERVED_DATABASES = frozenset({"postgres", "template0", "template1", "rdsadmin"})

# Storage autoscaling: the ceiling must be at least 10 % above the allocation (Amazon RDS User
# Guide, "Managing capacity automatically with Amazon RDS storage autoscaling"); 0 turns it off.
AUTOSCALING_MARGIN_PERCENT = 110

# The instance's auto-name is "<app>-database-instance-<7 hex>", and an RDS DB instance
# identifier has at most 63 characters (CreateDBInstance, DBInstanceIdentifier).
MAX_APP_NAME_LENGTH = 63 - len("-database-instance-") - 7

_SUBNET = re.compile(r"^subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?$")

_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$")

_ENGINE_VERSION = re.compile(r"^(?P<major>[1-9][0-9])(?:\.[0-9]+)?$")

_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")


class RdsArgs(TypedDict):
    """The RDS instance of ``database.provider: rds``."""

    subnet_ids: pulumi.Input[List[str]]
    """Private subnets of at least two availability zones for the DB subnet group (a list, or an
    Output of one from a platform stack). Required. Pods reach the database on these subnets'
    CIDRs (looked up), not on its address: that moves on failover."""
    client_security_group_ids: pulumi.Input[List[str]]
    """Security groups allowed to connect on the database port (for EKS: the cluster security
    group its nodes and pods use). Required."""
    engine_version: NotRequired[str]
    """PostgreSQL major (``"17"``) or major.minor; the parameter group family follows the major.
    Default: ``"17"``."""
    instance_class: NotRequired[str]
    """Default: ``db.t4g.medium``."""
    allocated_storage_gb: NotRequired[int]
    """gp3 storage at creation. Default: ``20``."""
    max_allocated_storage_gb: NotRequired[int]
    """Storage autoscaling ceiling: at least 110 % of ``allocated_storage_gb``, or equal to it to
    turn autoscaling off. Default: ``100``, or twice the allocation once 100 is less than 110 %
    of it."""
    multi_az: NotRequired[bool]
    """A standby in another zone. Default: ``protect_data``'s value."""
    backup_retention_days: NotRequired[int]
    """Days of automated backups and point-in-time recovery, 7 to 35. Default: ``7``."""
    performance_insights: NotRequired[bool]
    """Performance Insights (with the app's KMS key when set). Default: ``False``."""
    log_exports: NotRequired[List[str]]
    """Logs exported to CloudWatch. Default: ``["postgresql", "upgrade"]``."""
    master_username: NotRequired[str]
    """The master user (RDS keeps its password in Secrets Manager): 1 to 16 lower-case letters,
    digits or ``_``, a letter first, not a reserved word. Changing it later replaces the instance
    (the provider's ``username`` forces a new one): choose it once. Default: ``dbadmin``."""
    ca_bundle_url: NotRequired[str]
    """HTTPS URL of the CA bundle the pods verify the server with. Default: AWS's regional bundle
    of the region's partition (``truststore.pki.rds.amazonaws.com``; GovCloud
    ``truststore.pki.us-gov-west-1.rds.amazonaws.com``; China
    ``rds-truststore.s3.cn-north-1.amazonaws.com.cn``). Required in other partitions."""
    apply_immediately: NotRequired[bool]
    """Apply modifications now instead of in the maintenance window. Default: ``False``."""
    allow_major_version_upgrade: NotRequired[bool]
    """Let a new major ``engine_version`` upgrade the instance (set it for that change only).
    Default: ``False``."""


@dataclass(frozen=True)
class RdsSettings:
    subnet_ids: Any
    client_security_group_ids: pulumi.Input[List[str]]
    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    performance_insights: bool
    log_exports: tuple[str, ...]
    master_username: str
    ca_bundle_url: Optional[str]
    apply_immediately: bool
    allow_major_version_upgrade: bool = False

    @property
    def major(self) -> int:
        match = _ENGINE_VERSION.match(self.engine_version)
        return int(match.group("major")) if match else int(DEFAULT_ENGINE_VERSION)

    @property
    def family(self) -> str:
        """The parameter group family: a major upgrade needs a group of the new family."""
        return f"postgres{self.major}"


def ids_problem(
    value: Any, pattern: "re.Pattern[str]", minimum: int, example: str
) -> Optional[str]:
    """Why ``value`` is not a list of at least ``minimum`` distinct ids, or None."""
    allowed = f"must be a list of at least {minimum} distinct ids such as {example!r}"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return allowed
    if len(value) < minimum or len(set(map(str, value))) != len(value):
        return allowed
    if any(
        not is_output_value(v) and (not isinstance(v, str) or not pattern.match(v)) for v in value
    ):
        return allowed
    return None


def is_output_value(value: Any) -> bool:
    return isinstance(value, pulumi.Output)


def checked_subnet_ids(value: Any) -> list:
    """The subnet ids once an Output is known, with the same rule as up front."""
    problem = ids_problem(value, _SUBNET, 2, "subnet-0a1b2c3d")
    if problem:
        raise ValueError(f"database.rds.subnet_ids = {value!r}: {problem}")
    return list(value)


def checked_zones(subnets: list, zone_of: Any) -> list:
    """The looked-up subnets, once known: a DB subnet group needs subnets in at least two
    availability zones (Amazon RDS User Guide, "Working with a DB instance in a VPC")."""
    zones = sorted({str(zone_of(s)) for s in subnets})
    if len(zones) < 2:
        raise ValueError(
            f"database.rds.subnet_ids: the subnets are all in {', '.join(zones) or 'no zone'}; "
            "RDS needs subnets in at least two availability zones"
        )
    return subnets


def checked_security_group_ids(value: Any) -> list:
    problem = ids_problem(value, _SECURITY_GROUP, 1, "sg-0a1b2c3d")
    if problem:
        raise ValueError(f"database.rds.client_security_group_ids = {value!r}: {problem}")
    return list(value)


def checked_ids(
    problems: Problems,
    field: str,
    value: Any,
    pattern: "re.Pattern[str]",
    minimum: int,
    example: str,
) -> Any:
    if value is None:
        problems.add(
            field,
            value,
            f"is required with provider 'rds': a list of at least {minimum} ids such as {example!r}",
        )
        return ()
    if is_output_value(value):
        return value
    problem = ids_problem(value, pattern, minimum, example)
    if problem:
        problems.add(field, value, problem)
        return ()
    return tuple(value)


def default_ceiling(allocated: int) -> int:
    """100 GiB while that is 110 % of the allocation; beyond, twice the allocation."""
    if DEFAULT_MAX_ALLOCATED_GB * 100 >= allocated * AUTOSCALING_MARGIN_PERCENT:
        return DEFAULT_MAX_ALLOCATED_GB
    return min(MAX_ALLOCATED_GB, 2 * allocated)


def ceiling_problem(allocated: int, ceiling: Any) -> Optional[str]:
    allowed = (
        f"must be a whole number of GiB of at least 110 % of allocated_storage_gb ({allocated}), "
        f"at most {MAX_ALLOCATED_GB}, or equal to allocated_storage_gb to turn storage autoscaling off"
    )
    if not is_int(ceiling) or ceiling > MAX_ALLOCATED_GB:
        return allowed
    if ceiling != allocated and ceiling * 100 < allocated * AUTOSCALING_MARGIN_PERCENT:
        return allowed
    return None


def reserved_role_problem(name: str) -> Optional[str]:
    if name in RDS_RESERVED_ROLES or name.startswith(RDS_RESERVED_ROLE_PREFIXES):
        return (
            "is a role RDS for PostgreSQL has of its own (rdsadmin, rds_*, pg_*, postgres, public)"
        )
    return None


def master_username_problem(master: Any) -> Optional[str]:
    if not isinstance(master, str) or not _MASTER_USERNAME.match(master):
        return "must be 1 to 16 lower-case letters, digits or '_', starting with a letter (RDS MasterUsername)"
    if master in RESERVED_WORDS:
        return "is a reserved word of PostgreSQL, which RDS refuses as a master user name"
    return reserved_role_problem(master)


def default_ca_bundle_url(region: str) -> Optional[str]:
    """AWS's bundle for ``region``'s partition, or None where no URL can be cited."""
    if region.startswith(UNCITED_REGION_PREFIXES):
        return None
    for prefix, url in CA_BUNDLE_URLS_BY_PREFIX:
        if region.startswith(prefix):
            return url.format(region=region)
    return CA_BUNDLE_URL.format(region=region)


def uncited_region_message(region: str) -> str:
    return (
        f"has no default in region {region!r}: AWS documents RDS trust store URLs for the commercial, "
        "GovCloud and China partitions only; set database.rds.ca_bundle_url to your partition's bundle"
    )


def normalise(
    problems: Problems,
    raw: Any,
    protect_data: bool,
    username: str,
    database_name: str,
    app_name: str = "",
) -> Optional[RdsSettings]:
    """``database.rds`` (required with provider ``rds``); ``username`` and ``database_name`` are
    the app's role and database, which must not collide with what RDS has of its own."""
    given = given_args(problems, raw if raw is not None else {}, RdsArgs, "database.rds")
    if given is None:
        return None
    subnets = checked_ids(
        problems, "database.rds.subnet_ids", given.get("subnet_ids"), _SUBNET, 2, "subnet-0a1b2c3d"
    )
    groups = checked_ids(
        problems,
        "database.rds.client_security_group_ids",
        given.get("client_security_group_ids"),
        _SECURITY_GROUP,
        1,
        "sg-0a1b2c3d",
    )
    version = given.get("engine_version", DEFAULT_ENGINE_VERSION)
    match = _ENGINE_VERSION.match(version) if isinstance(version, str) else None
    if not match or int(match.group("major")) < OLDEST_MAJOR:
        problems.add(
            "database.rds.engine_version",
            version,
            f"must be a PostgreSQL major ({OLDEST_MAJOR} or newer) or major.minor such as '17' or '17.6'",
        )
        version = DEFAULT_ENGINE_VERSION
    instance_class = given.get("instance_class", DEFAULT_INSTANCE_CLASS)
    if not isinstance(instance_class, str) or not _INSTANCE_CLASS.match(instance_class):
        problems.add(
            "database.rds.instance_class",
            instance_class,
            "must be an RDS instance class such as 'db.t4g.medium'",
        )
        instance_class = DEFAULT_INSTANCE_CLASS
    allocated = given.get("allocated_storage_gb", DEFAULT_ALLOCATED_GB)
    if not is_int(allocated) or not MIN_ALLOCATED_GB <= allocated <= MAX_ALLOCATED_GB:
        problems.add(
            "database.rds.allocated_storage_gb",
            allocated,
            f"must be a whole number of GiB from {MIN_ALLOCATED_GB} to {MAX_ALLOCATED_GB}",
        )
        allocated = DEFAULT_ALLOCATED_GB
    ceiling = given.get("max_allocated_storage_gb", default_ceiling(allocated))
    problem = ceiling_problem(allocated, ceiling)
    if problem:
        problems.add("database.rds.max_allocated_storage_gb", ceiling, problem)
        ceiling = allocated
    retention = given.get("backup_retention_days", DEFAULT_RETENTION_DAYS)
    if not is_int(retention) or not MIN_RETENTION_DAYS <= retention <= MAX_RETENTION_DAYS:
        problems.add(
            "database.rds.backup_retention_days",
            retention,
            f"must be a number of days from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} (automated backups are always kept)",
        )
        retention = DEFAULT_RETENTION_DAYS
    exports = given.get("log_exports", DEFAULT_LOG_EXPORTS)
    if (
        isinstance(exports, (str, bytes))
        or not isinstance(exports, Sequence)
        or any(e not in LOG_EXPORTS for e in exports)
    ):
        problems.add(
            "database.rds.log_exports", exports, f"must be a list of: {', '.join(LOG_EXPORTS)}"
        )
        exports = DEFAULT_LOG_EXPORTS
    master = given.get("master_username", DEFAULT_MASTER_USERNAME)
    problem = master_username_problem(master)
    if problem:
        problems.add("database.rds.master_username", master, problem)
        master = DEFAULT_MASTER_USERNAME
    elif master == username:
        problems.add(
            "database.rds.master_username",
            master,
            "must differ from database.username: the app connects as its own role",
        )
    problem = reserved_role_problem(username) if isinstance(username, str) else None
    if problem:
        problems.add("database.username", username, f"{problem}: the app needs a role of its own")
    if database_name in RDS_RESERVED_DATABASES:
        problems.add(
            "database.database_name",
            database_name,
            "is a database RDS for PostgreSQL has of its own (postgres, template0, template1, rdsadmin)",
        )
    if len(app_name) > MAX_APP_NAME_LENGTH:
        problems.add(
            "name",
            app_name,
            f"must be at most {MAX_APP_NAME_LENGTH} characters with provider 'rds': the instance's identifier "
            "<name>-database-instance-<7 hex> has at most 63",
        )
    url = given.get("ca_bundle_url")
    if url is not None and (
        not isinstance(url, str) or not re.match(r"^https://[^\s/]+/\S*$", url)
    ):
        problems.add("database.rds.ca_bundle_url", url, "must be an https:// URL of a PEM bundle")
        url = None
    return RdsSettings(
        subnet_ids=subnets,
        client_security_group_ids=groups,
        engine_version=version,
        instance_class=instance_class,
        allocated_storage_gb=allocated,
        max_allocated_storage_gb=ceiling,
        multi_az=checked_bool(
            problems, "database.rds.multi_az", given.get("multi_az", protect_data), protect_data
        ),
        backup_retention_days=retention,
        performance_insights=checked_bool(
            problems,
            "database.rds.performance_insights",
            given.get("performance_insights", False),
            False,
        ),
        log_exports=tuple(exports),
        master_username=master,
        ca_bundle_url=url,
        apply_immediately=checked_bool(
            problems, "database.rds.apply_immediately", given.get("apply_immediately", False), False
        ),
        allow_major_version_upgrade=checked_bool(
            problems,
            "database.rds.allow_major_version_upgrade",
            given.get("allow_major_version_upgrade", False),
            False,
        ),
    )


def checked_ca_bundle_url(region: str) -> str:
    url = default_ca_bundle_url(region)
    if url is None:
        raise ValueError(f"database.rds.ca_bundle_url {uncited_region_message(region)}")
    return url
