from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]


@pytest.fixture
def top() -> Path:
    """The top of the source tree (Config.in, configs/, package/)."""
    return TOP
