"""Public path kept for the stack program and scripts; the tool lives in ``tools/stack_config.py``."""

from .tools.stack_config import *  # noqa: F403
