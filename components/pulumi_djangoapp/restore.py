"""Public path of ``python -m pulumi_djangoapp.restore``; the tool lives in ``tools/restore.py``."""

import sys

from .tools.restore import *  # noqa: F403
from .tools.restore import main

if __name__ == "__main__":
    sys.exit(main())
