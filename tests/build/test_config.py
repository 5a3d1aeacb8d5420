"""Kconfig verbs: the product defconfig, strict loading, savedefconfig round trip."""

from pathlib import Path

import pytest

from tools.build import config
from tools.build.errors import ConfigError

PRODUCT = "coocenter_s10_defconfig"


def _product_config(top: Path, tmp_path: Path) -> Path:
    dotconfig = tmp_path / ".config"
    config.apply_defconfig(top, top / "configs" / PRODUCT, dotconfig)
    return dotconfig


def test_product_defconfig_selects_board_suite_and_packages(top, tmp_path):
    dotconfig = _product_config(top, tmp_path)
    cfg = config.read_config(top, dotconfig)
    assert cfg.arch == "arm64"
    assert cfg.qemu_arch == "aarch64"
    assert cfg.board == "coocenter_s10"
    assert cfg.suite == "trixie"
    assert cfg.mirror == "http://deb.debian.org/debian"
    assert cfg.timezone == "Asia/Shanghai"
    assert cfg.root_locked is True
    assert cfg.squashfs is True
    # pbxd pulls in its interpreter, libraries and Python dependencies through `select`
    for package in (
        "pbxd",
        "python3",
        "python3-numpy",
        "python3-tornado",
        "python3-peewee",
        "libspandsp",
        "libgsm",
        "linux-image",
        "openssh-server",
        "chrony",
        "base-system",
    ):
        assert package in cfg.packages
    assert "rauc" not in cfg.packages
    assert config.config_origin(dotconfig) == f"configs/{PRODUCT}"


def test_list_defconfigs_names_the_product(top):
    assert PRODUCT in config.list_defconfigs(top)


def test_unknown_defconfig_name_lists_the_known_ones(top):
    with pytest.raises(ConfigError) as err:
        config.find_defconfig(top, "nosuchboard_defconfig")
    assert "nosuchboard_defconfig" in str(err.value)
    assert PRODUCT in str(err.value)


def test_unknown_symbol_names_symbol_file_and_line(top, tmp_path):
    bad = tmp_path / "bad_defconfig"
    lines = (top / "configs" / PRODUCT).read_text().splitlines()
    lines.insert(3, "BR2_PACKAGE_PBXDD=y")
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as err:
        config.apply_defconfig(top, bad, tmp_path / ".config")
    message = str(err.value)
    assert f"{bad}:4:" in message
    assert "unknown symbol BR2_PACKAGE_PBXDD" in message
    assert "did you mean BR2_PACKAGE_PBXD?" in message
    assert not (tmp_path / ".config").exists()


def test_unset_line_of_unknown_symbol_is_an_error_too(top, tmp_path):
    bad = tmp_path / "bad_defconfig"
    bad.write_text("BR2_aarch64=y\n# BR2_NO_SUCH_THING is not set\n")
    with pytest.raises(ConfigError, match=r"bad_defconfig:2: unknown symbol BR2_NO_SUCH_THING"):
        config.apply_defconfig(top, bad, tmp_path / ".config")


def test_value_that_cannot_take_effect_is_refused(top, tmp_path):
    # numpy depends on python3, which nothing selects here
    bad = tmp_path / "bad_defconfig"
    bad.write_text("BR2_aarch64=y\nBR2_PACKAGE_PYTHON3_NUMPY=y\n")
    with pytest.raises(ConfigError) as err:
        config.apply_defconfig(top, bad, tmp_path / ".config")
    message = str(err.value)
    assert "bad_defconfig:2: BR2_PACKAGE_PYTHON3_NUMPY=y did not take effect" in message
    assert "depends on BR2_PACKAGE_PYTHON3" in message


def test_malformed_line_is_refused(top, tmp_path):
    bad = tmp_path / "bad_defconfig"
    bad.write_text("BR2_aarch64=y\nBR2_PACKAGE_PBXD y\n")
    with pytest.raises(ConfigError, match=r"bad_defconfig:2: not a Kconfig assignment"):
        config.apply_defconfig(top, bad, tmp_path / ".config")


def test_string_values_are_kept(top, tmp_path):
    custom = tmp_path / "custom_defconfig"
    custom.write_text(
        (top / "configs" / PRODUCT).read_text()
        + 'BR2_TARGET_GENERIC_HOSTNAME="pbx-test"\nBR2_DEBIAN_SUITE="forky"\n'
    )
    config.apply_defconfig(top, custom, tmp_path / ".config")
    cfg = config.read_config(top, tmp_path / ".config")
    assert cfg.hostname == "pbx-test"
    assert cfg.suite == "forky"


def test_savedefconfig_round_trip(top, tmp_path):
    dotconfig = _product_config(top, tmp_path)
    saved = tmp_path / "saved_defconfig"
    config.savedefconfig(top, dotconfig, saved)
    text = saved.read_text()
    assert "BR2_PACKAGE_PBXD=y" in text and "BR2_PACKAGE_LINUX_IMAGE=y" in text
    # the minimal form leaves out what pbxd selects and what is a default
    assert "BR2_PACKAGE_PYTHON3_NUMPY" not in text
    again = tmp_path / "again" / ".config"
    config.apply_defconfig(top, saved, again)
    assert config.read_config(top, again) == config.read_config(top, dotconfig)


def test_missing_dotconfig_says_what_to_run(top, tmp_path):
    with pytest.raises(ConfigError, match=r"make <board>_defconfig"):
        config.read_config(top, tmp_path / ".config")


def test_package_symbol_names():
    assert config.package_symbol("python3-numpy") == "BR2_PACKAGE_PYTHON3_NUMPY"
    assert config.package_symbol("pbxd") == "BR2_PACKAGE_PBXD"
