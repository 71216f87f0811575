"""Inputs: the public arguments (TypedDicts), their frozen settings and the normalisation that
checks every argument and reports every problem at once. Imports nothing from builders or
components. ``pulumi_djangoapp.settings.normalise`` is public (the stack program calls it)."""

from .app import Settings, normalise

__all__ = ["Settings", "normalise"]
