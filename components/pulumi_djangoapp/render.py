"""Public path of ``python -m pulumi_djangoapp.render``; the tool lives in ``tools/render.py``."""

import sys

from .tools.render import *  # noqa: F403
from .tools.render import main

if __name__ == "__main__":
    sys.exit(main())
