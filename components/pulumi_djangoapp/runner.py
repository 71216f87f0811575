"""Public path kept for the stack program and scripts; the tool lives in ``tools/runner.py``."""

from .tools.runner import *  # noqa: F403
