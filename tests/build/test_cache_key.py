"""The base layer's cache key: stable for the same selection, new for any change."""

import os
import subprocess
import sys
from pathlib import Path

from tools.build.baselayer import base_path, cache_key

DEBS = ["systemd", "python3", "linux-image-arm64", "chrony"]
MIRROR = "http://deb.debian.org/debian"


def test_same_selection_same_key_whatever_the_order():
    first = cache_key("trixie", "arm64", MIRROR, DEBS)
    assert first == cache_key("trixie", "arm64", MIRROR, list(reversed(DEBS)))
    assert first == cache_key("trixie", "arm64", MIRROR + "/", DEBS + ["python3"])
    assert len(first) == 16 and int(first, 16) >= 0


def test_every_selector_changes_the_key():
    base = cache_key("trixie", "arm64", MIRROR, DEBS)
    changed = [
        cache_key("forky", "arm64", MIRROR, DEBS),
        cache_key("trixie", "armhf", MIRROR, DEBS),
        cache_key("trixie", "arm64", "http://mirror.example/debian", DEBS),
        cache_key("trixie", "arm64", MIRROR, DEBS + ["rauc"]),
        cache_key("trixie", "arm64", MIRROR, DEBS[1:]),
        cache_key("trixie", "arm64", MIRROR, DEBS, components=("main", "non-free-firmware")),
    ]
    assert base not in changed
    assert len(set(changed)) == len(changed)


def test_key_is_stable_across_processes(top):
    # set iteration order varies with the hash seed: the key must not
    code = (
        "from tools.build.baselayer import cache_key;"
        f"print(cache_key('trixie', 'arm64', {MIRROR!r}, {DEBS!r}))"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=top,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert keys == {cache_key("trixie", "arm64", MIRROR, DEBS)}


def test_cache_file_name():
    assert base_path(Path("output/cache"), "0123abcd") == Path("output/cache/base-0123abcd.tar")
