"""Entry point of the component package for other languages.

The schema (type tokens ``djangoapp:index:DjangoApp`` and ``djangoapp:index:ConfigBucket``,
every argument with its docstring as description, every output) is inferred from the
components' type annotations by the Pulumi SDK.
"""

from pulumi.provider.experimental import component_provider_host

import pulumi_djangoapp
from pulumi_djangoapp import ConfigBucket, DjangoApp

PACKAGE = "djangoapp"
COMPONENTS = [DjangoApp, ConfigBucket]

if __name__ == "__main__":
    component_provider_host(COMPONENTS, name=PACKAGE, version=pulumi_djangoapp.__version__)
