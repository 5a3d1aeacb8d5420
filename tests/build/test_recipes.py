"""Package recipes: the tree's own packages load, malformed ones are refused clearly."""

from pathlib import Path

import pytest

from tools.build import recipes
from tools.build.errors import RecipeError


def _all_packages(top: Path) -> list[str]:
    return sorted(p.name for p in (top / "package").iterdir() if p.is_dir())


def test_every_package_of_the_tree_loads(top):
    loaded = recipes.load_recipes(top, tuple(_all_packages(top)))
    by_name = {r.name: r for r in loaded}
    assert by_name["linux-image"].debs == ("linux-image-arm64",)
    assert by_name["pbxd"].local_wheels == (top.resolve(),)
    assert "systemctl enable pbxd.service" in by_name["pbxd"].post_install
    assert "openssh-server" in by_name["openssh-server"].debs
    assert "chrony" in by_name["chrony"].debs
    assert by_name["rauc"].debs == ("rauc",)
    for name in (
        "systemd",
        "systemd-sysv",
        "udev",
        "kmod",
        "iproute2",
        "ca-certificates",
        "tzdata",
    ):
        assert name in by_name["base-system"].debs


def test_deb_list_is_sorted_and_unique(top):
    loaded = recipes.load_recipes(top, tuple(_all_packages(top)))
    debs = recipes.all_debs(loaded + loaded)
    assert debs == sorted(set(debs))
    assert "python3-numpy" in debs and "libspandsp2t64" in debs


def _package(tmp_path: Path, name: str, recipe: str, config_in: str | None = None) -> Path:
    directory = tmp_path / "package" / name
    directory.mkdir(parents=True)
    symbol = "BR2_PACKAGE_" + name.upper().replace("-", "_")
    (directory / "Config.in").write_text(config_in or f'config {symbol}\n\tbool "{name}"\n')
    (directory / "recipe.toml").write_text(recipe)
    return directory


def test_files_and_steps_are_read(tmp_path):
    directory = _package(
        tmp_path,
        "demo-tool",
        'debs = ["demo"]\nfiles = [{ src = "a.conf", dest = "/etc/a.conf", mode = "0600" }]\n'
        'post_install = ["true"]\npost_install_host = ["echo $TARGET_DIR"]\n',
    )
    (directory / "a.conf").write_text("x=1\n")
    recipe = recipes.load_recipe(directory, tmp_path)
    assert recipe.files[0].dest == "/etc/a.conf"
    assert recipe.files[0].mode == 0o600
    assert recipe.post_install == ("true",)
    assert recipe.post_install_host == ("echo $TARGET_DIR",)


@pytest.mark.parametrize(
    ("recipe", "expected"),
    [
        ('debs = ["ok"]\nbogus = 1\n', "unknown key(s) bogus"),
        ('debs = ["Not A Name"]\n', "'Not A Name' is not a Debian package name"),
        ('debs = "python3"\n', "`debs` must be a list"),
        ('files = [{ src = "missing.conf", dest = "/etc/x" }]\n', "is not a file of package/"),
        ('files = [{ src = "../../etc/passwd", dest = "/etc/x" }]\n', "is not a file of package/"),
        ('local_wheels = ["nowhere"]\n', "has no pyproject.toml"),
        ("debs = [\n", "not valid TOML"),
    ],
)
def test_malformed_recipes_are_refused(tmp_path, recipe, expected):
    directory = _package(tmp_path, "broken", recipe)
    with pytest.raises(RecipeError) as err:
        recipes.load_recipe(directory, tmp_path)
    assert expected in str(err.value)
    assert "package/broken" in str(err.value)


def test_config_in_must_define_the_package_symbol(tmp_path):
    directory = _package(tmp_path, "odd", "debs = []\n", config_in='config BR2_OTHER\n\tbool "x"\n')
    with pytest.raises(RecipeError, match=r"must define `config BR2_PACKAGE_ODD`"):
        recipes.load_recipe(directory, tmp_path)
