from pathlib import Path

import pytest

from tools.build import config

TOP = Path(__file__).resolve().parents[2]


@pytest.fixture
def top() -> Path:
    """The top of the source tree (Config.in, configs/, package/)."""
    return TOP


@pytest.fixture
def product(top, tmp_path) -> config.FirmwareConfig:
    """The product's configuration, from configs/coocenter_s10_defconfig."""
    dotconfig = tmp_path / "out" / ".config"
    config.apply_defconfig(top, top / "configs" / "coocenter_s10_defconfig", dotconfig)
    return config.read_config(top, dotconfig)
