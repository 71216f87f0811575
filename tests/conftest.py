import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

MINIMAL = {"image": "ghcr.io/acme/shop:1.4.2"}


@pytest.fixture
def root() -> Path:
    return ROOT
