"""A production-grade Django deployment on Kubernetes as one Pulumi component."""

__version__ = "0.8.0"

from .components.config_bucket import ConfigBucket
from .components.django_app import TYPE_TOKEN, DjangoApp
from .settings.args import DjangoAppArgs
from .settings.autoscaling import AutoscalingArgs
from .settings.backups import BackupArgs
from .settings.broker import BrokerArgs
from .settings.checks import Problem, ValidationError
from .settings.config_bucket import ConfigBucketArgs
from .settings.database import PostgresArgs
from .settings.processes import ProcessArgs
from .settings.rds import RdsArgs
from .settings.resources import ResourcesArgs
from .settings.schedules import ScheduleArgs
from .settings.sidecars import SidecarArgs
from .settings.way_in import HttpRouteArgs, IngressArgs

__all__ = [
    "AutoscalingArgs",
    "BackupArgs",
    "BrokerArgs",
    "HttpRouteArgs",
    "IngressArgs",
    "ProcessArgs",
    "RdsArgs",
    "ScheduleArgs",
    "ConfigBucket",
    "ConfigBucketArgs",
    "DjangoApp",
    "DjangoAppArgs",
    "PostgresArgs",
    "Problem",
    "ResourcesArgs",
    "SidecarArgs",
    "TYPE_TOKEN",
    "ValidationError",
]
