"""The prompt generator (espeak-ng, build time) and the coocenter-prompts firmware package.

espeak-ng is a build and test dependency (Debian package espeak-ng): these tests fail, not
skip, when it is missing. They run the generator on a 3-entry catalog to stay fast; one test
renders the real catalog through the package's host step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from tools.build import recipes
from tools.prompts import generate as gen

TOP = Path(__file__).resolve().parents[2]
SOXI = shutil.which("soxi")
RMS_FLOOR = 0.03 * 32768  # speech or music, not near-silence

SMALL_CATALOG = """
[welcome]
zh = "您好，欢迎致电。"
en = "Hello, and thank you for calling."

[digit-7]
zh = "七"
en = "seven"

[queue-position-end]
zh = "位。"
en = "in the queue."
"""


@pytest.fixture
def catalog(tmp_path) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(SMALL_CATALOG, encoding="utf-8")
    return path


def soxi(path: Path, option: str) -> str:
    assert SOXI, "soxi (Debian package sox) is needed"
    return subprocess.run(
        [SOXI, option, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def read_pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


def run_generator(out: Path, catalog: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.prompts.generate", str(out), "--catalog", str(catalog)]
        + list(args),
        cwd=TOP,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_generator_writes_8k_mono_16bit_audible_prompts(tmp_path, catalog):
    out = tmp_path / "prompts"
    result = run_generator(out, catalog, "--langs", "zh,en")
    assert result.returncode == 0, result.stderr
    for lang in ("zh", "en"):
        for prompt_id in ("welcome", "digit-7", "queue-position-end"):
            path = out / lang / f"{prompt_id}.wav"
            assert soxi(path, "-r") == "8000"
            assert soxi(path, "-c") == "1"
            assert soxi(path, "-b") == "16"
            assert soxi(path, "-e") == "Signed Integer PCM"
            pcm = read_pcm(path)
            assert 0.15 < len(pcm) / 8000 < 10, (path, len(pcm))
            assert rms(pcm) > RMS_FLOOR, path
    # a sentence lasts longer than a single digit, in both languages
    for lang in ("zh", "en"):
        assert len(read_pcm(out / lang / "welcome.wav")) > 2 * len(
            read_pcm(out / lang / "digit-7.wav")
        )
    moh = out / "common" / "moh.wav"
    assert float(soxi(moh, "-D")) == pytest.approx(20.0, abs=0.01)
    music = read_pcm(moh)
    assert rms(music) > RMS_FLOOR
    # looping adds no click: the jump from the last sample to the first is a normal step
    steps = np.abs(np.diff(music.astype(np.int32)))
    assert abs(int(music[0]) - int(music[-1])) <= np.percentile(steps, 99.9)


def test_generator_is_deterministic_and_skips_what_is_up_to_date(tmp_path, catalog):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_generator(a, catalog, "--langs", "zh,en").returncode == 0
    assert run_generator(b, catalog, "--langs", "zh,en").returncode == 0
    files = sorted(p.relative_to(a) for p in a.rglob("*.wav"))
    assert len(files) == 7  # 3 prompts x 2 languages + music on hold
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel

    before = {rel: (a / rel).stat().st_mtime_ns for rel in files}
    again = run_generator(a, catalog, "--langs", "zh,en")
    assert "0 written, 7 up to date" in again.stdout
    assert {rel: (a / rel).stat().st_mtime_ns for rel in files} == before

    # touching the catalog makes every prompt stale again
    os.utime(catalog, ns=(max(before.values()) + 10**9,) * 2)
    redo = run_generator(a, catalog, "--langs", "en")
    assert "3 written" in redo.stdout


def test_generator_without_espeak_ng_says_how_to_install_it(tmp_path, catalog):
    result = subprocess.run(
        [sys.executable, "-m", "tools.prompts.generate", str(tmp_path / "out"), "--catalog",
         str(catalog)],
        cwd=TOP,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(tmp_path / "empty-bin")},
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "espeak-ng is not installed" in result.stderr
    assert "apt-get install -y espeak-ng" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[welcome]\nzh = "欢迎"\n', "needs a non-empty en text"),
        ('[welcome]\nzh = "按1"\nen = "press 1"\n', "Latin letters or digits"),
        ('[Bad_Id]\nzh = "欢迎"\nen = "hello"\n', "prompt id"),
        ('[welcome]\nzh = "欢迎"\nen = "hi"\nfr = "salut"\n', "unknown language"),
        ("[welcome\n", "not valid TOML"),
    ],
)
def test_bad_catalogs_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(gen.GenerateError, match=message):
        gen.load_catalog(path)


def test_the_real_catalog_loads():
    entries = gen.load_catalog(gen.DEFAULT_CATALOG)
    assert len(entries) >= 60
    assert {e.prompt_id for e in entries} >= {"welcome", "vm-menu", "queue-position", "digit-0"}


# -- the firmware package -------------------------------------------------------------------------


def test_package_recipe_and_config(top):
    recipe = recipes.load_recipe(top / "package" / "coocenter-prompts", top)
    assert recipe.debs == ()  # nothing on the device but WAV files
    assert recipe.post_install_host == ('sh "$PKG_DIR/render-prompts.sh"',)
    config_in = (top / "package" / "coocenter-prompts" / "Config.in").read_text()
    assert "config BR2_PACKAGE_COOCENTER_PROMPTS" in config_in
    assert "default y" in config_in


def test_product_config_enables_the_prompts(product):
    assert "coocenter-prompts" in product.packages


def test_package_host_step_renders_the_catalog_into_the_rootfs(tmp_path, top):
    target, build = tmp_path / "rootfs", tmp_path / "build"
    target.mkdir()
    env = {
        **os.environ,
        "TOPDIR": str(top),
        "TARGET_DIR": str(target),
        "BUILD_DIR": str(build),
        "PKG_DIR": str(top / "package" / "coocenter-prompts"),
    }
    recipe = recipes.load_recipe(top / "package" / "coocenter-prompts", top)
    for step in recipe.post_install_host:
        result = subprocess.run(
            ["sh", "-ec", step], env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
    prompts = target / "usr" / "share" / "coocenter" / "prompts"
    ids = {e.prompt_id for e in gen.load_catalog(gen.DEFAULT_CATALOG)}
    for lang in ("zh", "en"):
        assert {p.stem for p in (prompts / lang).glob("*.wav")} == ids
    assert (prompts / "common" / "moh.wav").is_file()
    assert oct((prompts / "zh" / "welcome.wav").stat().st_mode & 0o777) == "0o644"
    assert not list(prompts.rglob(".*"))
    assert soxi(prompts / "zh" / "vm-menu.wav", "-r") == "8000"
