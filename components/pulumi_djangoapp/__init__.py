"""A production-grade Django deployment on Kubernetes as one Pulumi component."""

__version__ = "0.2.0"

from .args import DjangoAppArgs, PostgresArgs, ResourcesArgs, SidecarArgs
from .autoscaling import AutoscalingArgs
from .backups import BackupArgs
from .broker import BrokerArgs
from .processes import ProcessArgs
from .rds import RdsArgs
from .schedules import ScheduleArgs
from .way_in import HttpRouteArgs, IngressArgs
from .config_bucket import ConfigBucket, ConfigBucketArgs
from .django_app import TYPE_TOKEN, DjangoApp
from .validation import Problem, ValidationError

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
