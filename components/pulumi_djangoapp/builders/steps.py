"""An init or Job step that runs the app's image with the app container's plumbing."""

from __future__ import annotations

from typing import Sequence

from ..settings.app import Settings
from .security import container


def app_step(
    s: Settings, name: str, command: Sequence[str], base: dict, env: Sequence[dict] = ()
) -> dict:
    """``command`` in the app image with ``base``'s env (plus ``env``), resources and mounts
    (``base``: ``builders/app.py`` ``app_process``)."""
    return container(
        name,
        s.image,
        s.image_pull_policy,
        s.run_as_user,
        command=list(command),
        env=[*base["env"], *env],
        resources=base["resources"],
        volumeMounts=base["volumeMounts"],
    )
