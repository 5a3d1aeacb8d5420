"""Render the prompt catalog into WAV files with espeak-ng, at build time only.

    python -m tools.prompts.generate OUT_DIR [--langs zh,en] [--catalog PATH] [--force]

Writes OUT_DIR/<lang>/<id>.wav for every entry of pbxd/prompts/catalog.toml and the music on
hold OUT_DIR/common/moh.wav, all 8000 Hz mono 16-bit PCM. An output newer than both the
catalog and this generator is kept (a re-run only does what changed; --force redoes all).

Each text goes through espeak-ng (Debian package espeak-ng) at its native 22050 Hz, is
resampled to 8 kHz by pbxd's own resampler (pbxd.media.player.load_prompt: no sox needed),
trimmed of leading and trailing silence (prompts are concatenated: "you are number" "3" "in the
queue") and normalised to one peak level. The same espeak-ng version gives the same bytes.

Voices: en -> "en-us". zh -> "cmn-latn-pinyin" when espeak-ng has it, else "cmn": in Debian's
espeak-ng 1.51 the voice "cmn" ("latin as English") reads Chinese characters through pinyin
spelled as English ("nin two hao three"); "cmn-latn-pinyin" speaks them as Mandarin. The zh
texts contain no Latin letters, so the two voices differ only in that.

The music on hold is synthesised here (numpy: a I-V-vi-iii-IV-I-ii-V chord progression, soft
pads and a plucked arpeggio, 20 s, seamless when looped): nothing is downloaded.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbxd.media.frames import ENGINE_RATE
from pbxd.media.player import PromptError, load_prompt
from pbxd.media.prompts import COMMON_DIR, LANGUAGES, MUSIC_ON_HOLD, write_wav_atomic

TOP = Path(__file__).resolve().parents[2]
DEFAULT_CATALOG = TOP / "pbxd" / "prompts" / "catalog.toml"
ESPEAK = "espeak-ng"
ESPEAK_DEB = "espeak-ng"
VOICES = {"zh": ("cmn-latn-pinyin", "cmn"), "en": ("en-us",)}
WORDS_PER_MINUTE = {"zh": 150, "en": 155}  # a little slower than espeak's 175: telephone
PEAK = 0.7 * 32767  # -3 dBFS
SILENCE_THRESHOLD = 0.02  # of the peak: below it, leading/trailing samples are trimmed
LEAD_SECONDS = 0.02  # kept before the first sound
TAIL_SECONDS = 0.08  # kept after the last sound
MOH_SECONDS_PER_CHORD = 2.5
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class GenerateError(Exception):
    """The prompts cannot be generated (no espeak-ng, a bad catalog, a failing voice)."""


@dataclass(frozen=True)
class Entry:
    prompt_id: str
    texts: dict[str, str]  # language -> text


# -- catalog --------------------------------------------------------------------------------


def load_catalog(path: Path) -> list[Entry]:
    """The catalog's entries in file order; GenerateError names the first problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GenerateError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise GenerateError(f"{path}: not valid TOML: {exc}") from exc
    entries = []
    for prompt_id, table in data.items():
        if not _ID.fullmatch(prompt_id):
            raise GenerateError(f"{path}: prompt id {prompt_id!r}: lower-case letters, digits, '-'")
        if not isinstance(table, dict):
            raise GenerateError(f"{path}: [{prompt_id}] must be a table of language = text")
        unknown = sorted(set(table) - set(LANGUAGES))
        if unknown:
            raise GenerateError(f"{path}: [{prompt_id}]: unknown language(s) {', '.join(unknown)}")
        for lang in LANGUAGES:
            text = table.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise GenerateError(f"{path}: [{prompt_id}] needs a non-empty {lang} text")
        if re.search(r"[A-Za-z0-9]", table["zh"]):
            raise GenerateError(
                f"{path}: [{prompt_id}] zh text has Latin letters or digits: write them in "
                "Chinese characters (numbers are said with the number prompts)"
            )
        entries.append(Entry(prompt_id, {lang: table[lang].strip() for lang in LANGUAGES}))
    if not entries:
        raise GenerateError(f"{path}: no prompts")
    return entries


# -- espeak-ng ------------------------------------------------------------------------------


def find_espeak() -> str:
    found = shutil.which(ESPEAK)
    if found is None:
        raise GenerateError(
            f"{ESPEAK} is not installed; the prompts are rendered with it at build time.\n"
            f"  install it with: apt-get install -y {ESPEAK_DEB}"
        )
    return found


def choose_voice(espeak: str, lang: str) -> str:
    """The first voice of VOICES[lang] that this espeak-ng knows."""
    result = subprocess.run(
        [espeak, "--voices"], capture_output=True, text=True, check=False, timeout=30
    )
    known = set()
    for line in result.stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2:
            known.add(fields[1])
    for voice in VOICES[lang]:
        if voice in known:
            return voice
    raise GenerateError(
        f"{ESPEAK} has none of the voices {', '.join(VOICES[lang])} for {lang} "
        f"(is the package {ESPEAK_DEB}-data complete?)"
    )


def speak(espeak: str, voice: str, lang: str, text: str, scratch: Path) -> np.ndarray:
    """`text` spoken by espeak-ng, as 8 kHz int16 PCM, trimmed and normalised."""
    raw = scratch / "espeak.wav"
    result = subprocess.run(
        [espeak, "-v", voice, "-s", str(WORDS_PER_MINUTE[lang]), "-b", "1", "-w", str(raw)],
        input=text.encode("utf-8"),
        capture_output=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise GenerateError(
            f"{ESPEAK} -v {voice} failed (exit status {result.returncode}) on {text!r}: "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    try:
        pcm = load_prompt(raw)  # any rate -> ENGINE_RATE, through pbxd's resampler
    except PromptError as exc:
        raise GenerateError(f"{ESPEAK} -v {voice} wrote no audio for {text!r}: {exc}") from exc
    return finish(pcm, text)


def finish(pcm: np.ndarray, what: str) -> np.ndarray:
    """Trim leading/trailing silence (keeping a little) and normalise to PEAK."""
    samples = pcm.astype(np.float64)
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak < 1.0:
        raise GenerateError(f"silent output for {what!r}")
    loud = np.flatnonzero(np.abs(samples) >= SILENCE_THRESHOLD * peak)
    start = max(0, int(loud[0]) - int(LEAD_SECONDS * ENGINE_RATE))
    end = min(len(samples), int(loud[-1]) + 1 + int(TAIL_SECONDS * ENGINE_RATE))
    scaled = np.round(samples[start:end] * (PEAK / peak))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


# -- music on hold --------------------------------------------------------------------------


def _hz(midi: int) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12)


# Pachelbel-like progression in C major (public-domain harmony): pad voicings and bass roots.
_CHORDS = (
    ((60, 64, 67), 48),  # C
    ((59, 62, 67), 43),  # G/B
    ((57, 60, 64), 45),  # Am
    ((55, 59, 64), 40),  # Em/G
    ((57, 60, 65), 41),  # F
    ((55, 60, 64), 48),  # C/E
    ((57, 62, 65), 38),  # Dm
    ((55, 59, 62), 43),  # G
)
_ARPEGGIO = (0, 1, 2, 1, 0, 2, 1, 2)  # chord-tone indices, eight notes per chord


def music_on_hold(rate: int = ENGINE_RATE) -> np.ndarray:
    """About 20 s of soft synthesised music, int16, that loops without a click.

    Every note has an envelope that starts and ends at zero, and notes that run past the end
    wrap around to the start, so the last sample flows into the first.
    """
    seg = int(MOH_SECONDS_PER_CHORD * rate)
    total = seg * len(_CHORDS)
    out = np.zeros(total, dtype=np.float64)

    def add(start: int, signal: np.ndarray) -> None:
        index = (start + np.arange(len(signal))) % total
        np.add.at(out, index, signal)

    fade = int(0.25 * rate)
    pad_len = seg + fade
    t_pad = np.arange(pad_len) / rate
    pad_env = np.ones(pad_len)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    pad_env[:fade] = ramp
    pad_env[-fade:] = ramp[::-1]
    pluck_len = int(0.9 * rate)
    t_pluck = np.arange(pluck_len) / rate
    pluck_env = np.exp(-t_pluck / 0.28) * np.minimum(1.0, t_pluck / 0.004)
    pluck_env[-int(0.05 * rate) :] *= np.linspace(1.0, 0.0, int(0.05 * rate))
    step = seg // len(_ARPEGGIO)

    for number, (notes, bass) in enumerate(_CHORDS):
        start = number * seg
        pad = np.zeros(pad_len)
        for note in notes:
            f = _hz(note)
            # a gentle vibrato-free organ: fundamental and a quiet octave
            pad += np.sin(2 * np.pi * f * t_pad) + 0.25 * np.sin(4 * np.pi * f * t_pad)
        f_bass = _hz(bass)
        # the bass fundamental is below the telephone band: its harmonics carry it
        for harmonic, level in ((1, 0.6), (2, 0.5), (3, 0.3)):
            pad += level * np.sin(2 * np.pi * f_bass * harmonic * t_pad)
        add(start, 0.12 * pad * pad_env)
        for k, index in enumerate(_ARPEGGIO):
            f = _hz(notes[index] + 12)
            tone = np.sin(2 * np.pi * f * t_pluck) + 0.15 * np.sin(6 * np.pi * f * t_pluck)
            add(start + k * step, 0.35 * tone * pluck_env)

    peak = float(np.max(np.abs(out)))
    scaled = np.round(out * (0.35 * 32767 / peak))  # -9 dBFS peak: music stays under speech
    return scaled.astype(np.int16)


# -- driver ---------------------------------------------------------------------------------


def _up_to_date(output: Path, inputs: list[Path]) -> bool:
    try:
        made = output.stat().st_mtime_ns
    except FileNotFoundError:
        return False
    return all(made > source.stat().st_mtime_ns for source in inputs)


def generate(
    out_dir: Path,
    langs: tuple[str, ...] = LANGUAGES,
    catalog: Path = DEFAULT_CATALOG,
    force: bool = False,
    report=print,
) -> dict[str, int]:
    """Render what is missing or stale; returns counts {'made': n, 'kept': n}."""
    for lang in langs:
        if lang not in VOICES:
            raise GenerateError(f"unknown language {lang!r}; one of {', '.join(VOICES)}")
    entries = load_catalog(catalog)
    espeak = find_espeak()
    inputs = [catalog, Path(__file__)]
    counts = {"made": 0, "kept": 0}
    with tempfile.TemporaryDirectory(prefix="prompts-") as scratch_name:
        scratch = Path(scratch_name)
        for lang in langs:
            voice = None
            for entry in entries:
                output = out_dir / lang / f"{entry.prompt_id}.wav"
                if not force and _up_to_date(output, inputs):
                    counts["kept"] += 1
                    continue
                voice = voice or choose_voice(espeak, lang)
                write_wav_atomic(output, speak(espeak, voice, lang, entry.texts[lang], scratch))
                counts["made"] += 1
            report(f"prompts: {lang}: {len(entries)} prompts in {out_dir / lang}")
    moh = out_dir / COMMON_DIR / f"{MUSIC_ON_HOLD}.wav"
    if force or not _up_to_date(moh, [Path(__file__)]):
        write_wav_atomic(moh, music_on_hold())
        counts["made"] += 1
    else:
        counts["kept"] += 1
    report(f"prompts: {counts['made']} written, {counts['kept']} up to date")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.prompts.generate",
        description="Render pbxd/prompts/catalog.toml into 8 kHz mono WAV prompts (espeak-ng).",
    )
    parser.add_argument("out_dir", type=Path, help="OUT_DIR: writes OUT_DIR/<lang>/<id>.wav")
    parser.add_argument("--langs", default=",".join(LANGUAGES), help="comma-separated: zh,en")
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--force", action="store_true", help="redo every file")
    args = parser.parse_args(argv)
    langs = tuple(lang.strip() for lang in args.langs.split(",") if lang.strip())
    try:
        generate(args.out_dir, langs, args.catalog, args.force)
    except GenerateError as exc:
        print(f"prompts: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"prompts: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
