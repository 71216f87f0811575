"""The project's own program: typed stack config -> providers -> one DjangoApp -> outputs."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from pulumi_djangoapp import DjangoApp, ValidationError
from pulumi_djangoapp.stack_config import args_from_config, aws_provider_args, with_config_keys

project = pulumi.get_project()
config = pulumi.Config()

try:
    # Stack paths are relative to the project root; the working directory is stacks/.
    name, args = args_from_config(config.get, project, pulumi.get_root_directory())
except ValidationError as error:
    # RunError: Pulumi prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(error)) from None

# Explicit providers: the region (or LocalStack endpoint) and kube context are in the stack file.
providers = {"aws": aws.Provider("aws", **aws_provider_args(config.get))}
if config.get("kubeContext"):
    providers["kubernetes"] = k8s.Provider("kubernetes", context=config.get("kubeContext"))

try:
    app = DjangoApp(name, args, pulumi.ResourceOptions(providers=providers))
except ValidationError as error:
    raise pulumi.RunError(str(with_config_keys(error, project))) from None

for output in (
    "namespace", "deployment_name", "service_name", "database_service_name",
    "effective_pod_requests", "effective_pod_limits",
    "bucket_name", "config_prefix", "secret_arn", "role_arn",
):  # fmt: skip
    pulumi.export(output, getattr(app, output))
