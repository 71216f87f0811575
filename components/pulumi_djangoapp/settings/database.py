import re
from dataclasses import dataclass
from typing import Any, NotRequired, Optional, TypedDict

from . import rds
from .checks import (
    HOST_NAME,
    Problems,
    checked_image,
    checked_int,
    checked_mapping,
    storage_problems,
    unknown_keys,
)
from .rds import RdsArgs, RdsSettings
from .resources import Resources, ResourcesArgs, checked_resources


class PostgresArgs(TypedDict):
    """The PostgreSQL server: in the cluster (default), on RDS, or an existing one."""

    provider: NotRequired[str]
    """``in-cluster`` (a StatefulSet), ``rds`` (an RDS instance the component creates, see
    ``rds``) or ``external`` (an existing server named by ``host``). Changing it on a live stack
    is refused (README "Databases per environment"). Default: ``external`` when ``host`` is
    given, else ``in-cluster``."""
    host: NotRequired[str]
    """An existing server (provider ``external``): no StatefulSet is created and the wait and
    migrate steps target it. Its role must use the generated password kept in the secret store.
    Default: none."""
    rds: NotRequired[RdsArgs]
    """The RDS instance (provider ``rds``; required there): subnets, client security groups,
    version, size, backups. Default: none."""
    port: NotRequired[int]
    """Port of the server. Default: ``5432``."""
    image: NotRequired[str]
    """Pinned ``postgres`` image (also runs ``pg_isready`` in ``wait-for-db``). Default:
    ``public.ecr.aws/docker/library/postgres:17.6-bookworm`` (Docker Hub's official
    image, from AWS's public mirror)."""
    storage_size: NotRequired[str]
    """Size of the data volume. Default: ``10Gi``."""
    storage_class: NotRequired[str]
    """StorageClass of the data volume. Default: the cluster's default class."""
    resources: NotRequired[ResourcesArgs]
    """Requests and limits of the server. Default: requests cpu 250m / memory 256Mi, limits cpu 1 /
    memory 1Gi."""
    database_name: NotRequired[str]
    """Database to create. Default: the component name with ``-`` replaced by ``_``."""
    username: NotRequired[str]
    """Owner role of the database. Default: the component name with ``-`` replaced by ``_``."""


PG_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

DEFAULT_POSTGRES_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}

DEFAULT_POSTGRES_IMAGE = "public.ecr.aws/docker/library/postgres:17.6-bookworm"


@dataclass(frozen=True)
class DatabaseSettings:
    image: str
    storage_size: str
    storage_class: Optional[str]
    resources: Resources
    database_name: str
    username: str
    port: int = 5432
    # An existing server; None means the component runs PostgreSQL in the cluster or on RDS.
    host: Optional[str] = None
    provider: str = "in-cluster"
    rds: Optional[RdsSettings] = None

    @property
    def external(self) -> bool:
        """No server in the cluster: an existing one, or RDS."""
        return self.provider != "in-cluster"


def checked_database(
    problems: Problems, raw_value: Any, name: str, protect_data: bool
) -> DatabaseSettings:
    raw = checked_mapping(problems, "database", raw_value)
    unknown_keys(problems, raw, PostgresArgs, "database.")
    image = checked_image(problems, "database.image", raw.get("image", DEFAULT_POSTGRES_IMAGE))

    storage, storage_class = raw.get("storage_size", "10Gi"), raw.get("storage_class")
    storage_problems(problems, "database", storage, storage_class, "10Gi")

    host = raw.get("host")
    provider = raw.get("provider", "external" if host is not None else "in-cluster")
    if provider not in rds.PROVIDERS:
        problems.add("database.provider", provider, f"must be one of {', '.join(rds.PROVIDERS)}")
        provider = "external" if host is not None else "in-cluster"
    if provider == "external" and host is None:
        problems.add(
            "database.host",
            host,
            "is required with provider 'external': the existing server's host name",
        )
    if host is not None:
        if provider != "external":
            problems.add(
                "database.host",
                host,
                f"only applies to provider 'external' (provider is {provider!r})",
            )
        elif not isinstance(host, str) or not HOST_NAME.match(host):
            problems.add("database.host", host, "must be a host name or IP address")
        host = (
            None
            if provider != "external" or not isinstance(host, str) or not HOST_NAME.match(host)
            else host
        )
    if provider != "in-cluster":
        for key in ("storage_size", "storage_class", "resources"):
            if key in raw:
                problems.add(
                    f"database.{key}",
                    raw[key],
                    f"only applies to the in-cluster server (provider is {provider!r})",
                )
    if "rds" in raw and provider != "rds":
        problems.add(
            "database.rds", raw["rds"], f"only applies to provider 'rds' (provider is {provider!r})"
        )
    port = checked_int(problems, "database.port", raw.get("port", 5432), 1, 65535)

    default_identifier = name.replace("-", "_")
    identifiers = {}
    for key in ("database_name", "username"):
        value = raw.get(key, default_identifier)
        if not isinstance(value, str) or not PG_IDENTIFIER.match(value):
            problems.add(
                f"database.{key}",
                value,
                "must be a lower-case PostgreSQL identifier: letters, digits and '_', not starting "
                "with a digit, at most 63 characters",
            )
        elif key == "username" and value.startswith("pg_"):
            # CREATE ROLE refuses them: "role name "pg_x" is reserved" (initdb would fail).
            problems.add(
                f"database.{key}",
                value,
                "must not start with 'pg_': PostgreSQL reserves those role names",
            )
        identifiers[key] = value

    return DatabaseSettings(
        image=image,
        storage_size=str(storage),
        storage_class=storage_class,
        resources=checked_resources(
            problems, "database.resources", raw.get("resources"), DEFAULT_POSTGRES_RESOURCES
        ),
        database_name=identifiers["database_name"],
        username=identifiers["username"],
        port=port,
        host=host,
        provider=provider,
        rds=rds.normalise(
            problems,
            raw.get("rds"),
            protect_data,
            identifiers["username"],
            identifiers["database_name"],
            name,
        )
        if provider == "rds"
        else None,
    )
