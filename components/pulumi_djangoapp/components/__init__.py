"""Registration: the Pulumi ComponentResources that turn the builders' objects into resources."""
