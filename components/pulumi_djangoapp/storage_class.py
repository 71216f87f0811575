"""Public path kept for the stack program (``storage_class.create``): the settings, the builder
and the registration of the stack's StorageClass live in their layers."""

from .components.storage_class import create
from .settings.storage_class import StorageClassArgs, StorageClassSettings, normalise

__all__ = ["StorageClassArgs", "StorageClassSettings", "create", "normalise"]
