"""The project's own program: typed stack config -> one DjangoApp -> stack outputs."""

import pulumi

from components import DjangoApp, ValidationError
from components.stack_config import args_from_config, with_config_keys

project = pulumi.get_project()
config = pulumi.Config()

try:
    name, args = args_from_config(config.get, project)
    app = DjangoApp(name, args)
except ValidationError as error:
    # RunError: Pulumi prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(with_config_keys(error, project))) from None

pulumi.export("namespace", app.namespace)
pulumi.export("deployment_name", app.deployment_name)
pulumi.export("service_name", app.service_name)
pulumi.export("database_service_name", app.database_service_name)
pulumi.export("effective_pod_requests", app.effective_pod_requests)
pulumi.export("effective_pod_limits", app.effective_pod_limits)
