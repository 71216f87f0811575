"""Public path kept for consumers (``from pulumi_djangoapp.config_bucket import ConfigBucket``)."""

from .components.config_bucket import TYPE_TOKEN, ConfigBucket
from .settings.config_bucket import ConfigBucketArgs

__all__ = ["TYPE_TOKEN", "ConfigBucket", "ConfigBucketArgs"]
