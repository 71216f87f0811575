"""Pure builders: typed settings in, Kubernetes objects and AWS documents out (camelCase dicts,
exactly as applied). No Pulumi registration here; imports the settings layer only."""
