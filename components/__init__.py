"""A production-grade Django deployment on Kubernetes as one Pulumi component."""

from .args import DjangoAppArgs, PostgresArgs, ResourcesArgs, SidecarArgs
from .django_app import TYPE_TOKEN, DjangoApp
from .validation import Problem, ValidationError

__all__ = [
    "DjangoApp",
    "DjangoAppArgs",
    "PostgresArgs",
    "Problem",
    "ResourcesArgs",
    "SidecarArgs",
    "TYPE_TOKEN",
    "ValidationError",
]
