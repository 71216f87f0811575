"""The DjangoApp guardrails policy pack: `pulumi preview --policy-pack policy/`."""

import validators
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

PolicyPack(
    name="djangoapp-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        *(
            ResourceValidationPolicy(name=name, description=description, validate=check)
            for name, (description, check) in validators.RESOURCE_CHECKS.items()
        ),
        StackValidationPolicy(
            name="s3-buckets-guarded",
            description="Every S3 bucket has a public access block and default encryption",
            validate=validators.every_bucket_is_guarded,
        ),
    ],
)
