"""The project's own program: typed stack config -> providers -> one DjangoApp -> outputs.

Every argument is checked before anything is registered, so a bad stack file leaves nothing
half-created (at most the explicit providers, which hold no cloud resource).
"""

import gc

import pulumi
import pulumi.runtime.config
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from pulumi_djangoapp import DjangoApp, ValidationError, storage_class
from pulumi_djangoapp.settings import normalise
from pulumi_djangoapp.stack_config import (
    args_from_config,
    aws_provider_args,
    storage_class_args,
    with_config_keys,
)

# A Pulumi program is a short batch process whose objects mostly live until it ends: after the
# imports, freeze what exists (the SDKs' modules) out of the collector's sight and collect the
# youngest generation less often. Measured on the staging stack (make bench, CONTRIBUTING "Speed"):
# 1.78 s -> 1.49 s, peak RSS +0.6 MB. The component itself never touches the collector.
gc.collect()
gc.freeze()
gc.set_threshold(50_000, 20, 20)

project = pulumi.get_project()
config = pulumi.Config()

try:
    # Stack paths are relative to the project root; the working directory is stacks/.
    name, args = args_from_config(
        config.get,
        project,
        pulumi.get_root_directory(),
        config.get_secret,
        pulumi.runtime.config.is_config_secret,
    )
    settings = normalise(name, args)
    storage = storage_class_args(config.get, project)
except ValidationError as error:
    # RunError: Pulumi prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(with_config_keys(error, project, config.get))) from None

# Explicit providers: the region (or LocalStack endpoint) and the cluster are in the stack file,
# never whatever kube context happens to be current on the machine running `pulumi up`. The AWS
# provider only when something needs AWS (the Secrets Manager backend, which RDS and backups
# require): a kubernetes-backend stack makes the engine load no AWS plugin.
providers = {"kubernetes": k8s.Provider("kubernetes", context=config.require("kubeContext"))}
if settings.uses_aws:
    providers["aws"] = aws.Provider("aws", **aws_provider_args(config.get))
depends_on = []
if storage:
    depends_on.append(
        storage_class.create(
            f"{name}-storage-class",
            storage,
            pulumi.ResourceOptions(provider=providers["kubernetes"]),
        )
    )

app = DjangoApp(name, args, pulumi.ResourceOptions(providers=providers, depends_on=depends_on))

# Every output of the component, from its one list (none holds a secret value).
for output in DjangoApp.OUTPUTS:
    pulumi.export(output, getattr(app, output))
