"""python -m tools.build VERB: the firmware verbs that firmware.mk calls."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from . import config as kconfig
from .errors import BuildError
from .steps import fail, say

TOP = Path(__file__).resolve().parents[2]


def _output() -> Path:
    return Path(os.environ.get("O") or TOP / "output").resolve()


def _dotconfig() -> Path:
    return Path(os.environ.get("KCONFIG_CONFIG") or _output() / ".config")


def _firmware_config() -> kconfig.FirmwareConfig:
    return kconfig.read_config(TOP, _dotconfig())


def cmd_defconfig(args) -> None:
    defconfig = kconfig.find_defconfig(TOP, args.name)
    kconfig.apply_defconfig(TOP, defconfig, _dotconfig())
    say(f"configuration written to {_dotconfig()} (from {defconfig})")


def cmd_list_defconfigs(args) -> None:
    for name in kconfig.list_defconfigs(TOP):
        print(f"  {name:<40} - make {name}")


def cmd_savedefconfig(args) -> None:
    dotconfig = kconfig.require_dotconfig(_dotconfig())
    if args.dest:
        dest = Path(args.dest)
    else:
        origin = kconfig.config_origin(dotconfig)
        dest = TOP / origin if origin else _output() / "defconfig"
    kconfig.savedefconfig(TOP, dotconfig, dest)
    say(f"minimal configuration saved to {dest}")


def cmd_menuconfig(args) -> None:
    import menuconfig as kconfiglib_menuconfig

    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise BuildError("menuconfig needs a terminal (run `make menuconfig` in a tty)")
    dotconfig = _dotconfig()
    kconf = kconfig.load_kconfig(TOP)
    if dotconfig.is_file():
        kconfig.load_config_file(kconf, dotconfig)
    dotconfig.parent.mkdir(parents=True, exist_ok=True)
    os.environ["KCONFIG_CONFIG"] = str(dotconfig)
    os.environ["srctree"] = str(TOP)
    os.environ["CONFIG_"] = ""
    kconfiglib_menuconfig.menuconfig(kconf)


def cmd_base(args) -> None:
    from . import baselayer, recipes

    cfg = _firmware_config()
    debs = recipes.all_debs(recipes.load_recipes(TOP, cfg.packages))
    baselayer.ensure_base(cfg, debs, _output())


def cmd_rootfs(args) -> None:
    from . import rootfs

    rootfs.build_rootfs(TOP, _firmware_config(), _output(), _dotconfig())


def cmd_image(args) -> None:
    from . import rootfs

    rootfs.build_image(TOP, _firmware_config(), _output(), _dotconfig())


def cmd_image_report(args) -> None:
    from . import report

    output = _output()
    board = "coocenter_s10"
    if _dotconfig().is_file():
        board = _firmware_config().board
    text = report.size_report(output) + "\n\n" + report.boot_report(TOP, board, output)
    print(text)
    if (output / "images").is_dir():
        (output / "images" / "image-report.txt").write_text(text + "\n")


def cmd_clean(args) -> None:
    output = _output()
    for name in ("build", "images", "tmp"):
        if (output / name).exists():
            shutil.rmtree(output / name)
    say(
        f"removed {output}/build and {output}/images (the base layer cache in {output}/cache "
        "is kept: `make distclean` removes it too)"
    )


def cmd_distclean(args) -> None:
    output = _output()
    if output.exists():
        shutil.rmtree(output)
    say(f"removed {output}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build")
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("defconfig", help="write .config from configs/NAME")
    p.add_argument("name")
    p.set_defaults(func=cmd_defconfig)
    verbs.add_parser("list-defconfigs").set_defaults(func=cmd_list_defconfigs)
    p = verbs.add_parser("savedefconfig")
    p.add_argument("dest", nargs="?")
    p.set_defaults(func=cmd_savedefconfig)
    verbs.add_parser("menuconfig").set_defaults(func=cmd_menuconfig)
    verbs.add_parser("base").set_defaults(func=cmd_base)
    verbs.add_parser("rootfs").set_defaults(func=cmd_rootfs)
    verbs.add_parser("image").set_defaults(func=cmd_image)
    verbs.add_parser("image-report").set_defaults(func=cmd_image_report)
    verbs.add_parser("clean").set_defaults(func=cmd_clean)
    verbs.add_parser("distclean").set_defaults(func=cmd_distclean)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except BuildError as exc:
        fail(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
