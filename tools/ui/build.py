"""Build the web console: `python -m tools.ui.build [--out DIR] [--dev]`.

Installs ui/'s npm packages with `npm ci` only when ui/node_modules is missing or
ui/package-lock.json changed since the last install (a stamp file in node_modules holds the
lock file's hash), then bundles ui/src with `node ui/build.mjs OUT` (esbuild: minified,
content-hashed names, an index.html that references them). OUT defaults to build/ui, which a
pbxd run from this checkout serves by default (pbxd --ui-dir).

Needs Node.js 18 or later and npm (Debian: nodejs, npm). The bundle is architecture-free: it
is built on the host and copied into the image as /usr/share/coocenter/ui.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UI = REPO / "ui"
DEFAULT_OUT = REPO / "build" / "ui"
STAMP = UI / "node_modules" / ".coocenter-lock.sha256"
LOCK = UI / ".install.lock"
MIN_NODE = 18
NPM_CI = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]


class UiBuildError(RuntimeError):
    """The console could not be built; the message says why and what to install."""


def _run(command: list[str], *, timeout: float) -> str:
    try:
        done = subprocess.run(
            command,
            cwd=UI,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ, npm_config_update_notifier="false"),
        )
    except FileNotFoundError:
        raise UiBuildError(f"{command[0]} not found: install Debian's nodejs and npm") from None
    except subprocess.TimeoutExpired:
        raise UiBuildError(f"{' '.join(command)} took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        raise UiBuildError(
            f"{' '.join(command)} failed with exit status {done.returncode}:\n"
            f"{done.stdout}{done.stderr}"
        )
    return done.stdout


def node_version() -> tuple[int, ...]:
    """(major, minor, patch) of `node`; UiBuildError when missing or older than MIN_NODE."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise UiBuildError("node and npm are needed to build the web console (Debian: nodejs npm)")
    text = _run(["node", "--version"], timeout=30).strip()
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text)
    if match is None:
        raise UiBuildError(f"cannot read the Node.js version from {text!r}")
    version = tuple(int(part) for part in match.groups())
    if version[0] < MIN_NODE:
        raise UiBuildError(f"Node.js {MIN_NODE} or later is needed, found {text}")
    return version


def lock_hash() -> str:
    return hashlib.sha256((UI / "package-lock.json").read_bytes()).hexdigest()


def install_needed() -> bool:
    """True when node_modules is missing or was installed from another package-lock.json."""
    try:
        return STAMP.read_text().strip() != lock_hash()
    except FileNotFoundError:
        return True


def ensure_packages(report: Callable[[str], None] = print) -> bool:
    """`npm ci` when needed (one process at a time); True when it ran."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not install_needed():
            return False
        report("ui: npm ci (package-lock.json changed or node_modules missing)")
        _run(NPM_CI, timeout=900)
        STAMP.write_text(lock_hash() + "\n")
        return True


def build(
    out: Path = DEFAULT_OUT, *, dev: bool = False, report: Callable[[str], None] = print
) -> Path:
    """Install the npm packages when needed and bundle the console into `out`; returns it."""
    node_version()
    ensure_packages(report)
    out = out.resolve()
    command = ["node", str(UI / "build.mjs"), str(out)] + (["--dev"] if dev else [])
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        output = _run(command, timeout=300)
    for line in output.splitlines():
        report(line)
    if not (out / "index.html").is_file():
        raise UiBuildError(f"the build wrote no index.html into {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.ui.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--dev", action="store_true", help="not minified, with sourcemaps")
    args = parser.parse_args(argv)
    try:
        build(args.out, dev=args.dev)
    except UiBuildError as exc:
        print(f"ui build: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
