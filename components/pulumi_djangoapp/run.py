"""Public path of ``python -m pulumi_djangoapp.run``; the tool lives in ``tools/run.py``."""

import sys

from .tools.run import *  # noqa: F403
from .tools.run import main

if __name__ == "__main__":
    sys.exit(main())
