"""WAV helpers for media tests: write a pure tone, measure what a recording contains."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SAMPLE_WIDTH = 2  # 16-bit PCM: what pjsua2's player and recorder read and write


def write_tone(
    path: Path | str,
    frequency: float,
    seconds: float,
    sample_rate: int = 8000,
    amplitude: float = 0.5,
) -> Path:
    """Write a mono 16-bit PCM WAV holding a sine at `frequency` Hz; return its path."""
    path = Path(path)
    if not 0 < frequency < sample_rate / 2:
        raise ValueError(f"{frequency} Hz does not fit below Nyquist at {sample_rate} Hz")
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    samples = np.round(amplitude * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(sample_rate)
        out.writeframes(samples.tobytes())
    return path


def read_samples(path: Path | str) -> tuple[np.ndarray, int]:
    """Return (mono float samples in [-1, 1], sample rate) of a 16-bit PCM WAV."""
    with wave.open(str(path), "rb") as src:
        if src.getsampwidth() != SAMPLE_WIDTH:
            raise ValueError(f"{path}: {8 * src.getsampwidth()}-bit samples, expected 16-bit")
        channels = src.getnchannels()
        rate = src.getframerate()
        raw = src.readframes(src.getnframes())
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples, rate


def wav_seconds(path: Path | str) -> float:
    """Length of a WAV file in seconds, from its header."""
    with wave.open(str(path), "rb") as src:
        return src.getnframes() / src.getframerate()


def rms(path: Path | str, skip_seconds: float = 0.0) -> float:
    """Root-mean-square level (0..1) after `skip_seconds`: tells silence from signal."""
    samples, rate = read_samples(path)
    tail = samples[int(skip_seconds * rate) :]
    return float(np.sqrt(np.mean(tail**2))) if tail.size else 0.0


def dominant_frequency(wav_path: Path | str, skip_seconds: float = 0.5) -> float:
    """Frequency in Hz of the strongest spectral peak after `skip_seconds`.

    The start is skipped because a call's first packets carry silence or jitter-buffer
    warm-up. A Hann window keeps leakage from the cut edges out of the peak, and the peak is
    refined by parabolic interpolation over the log magnitude, so accuracy is well below the
    bin width even for a few seconds of audio.
    """
    samples, rate = read_samples(wav_path)
    tail = samples[int(skip_seconds * rate) :]
    if tail.size < rate // 10:
        raise ValueError(
            f"{wav_path}: only {tail.size} samples after skipping {skip_seconds} s; "
            "the recording is (nearly) empty"
        )
    return peak_frequency(tail, rate)


def window(wav_path: Path | str, start: float, end: float) -> tuple[np.ndarray, int]:
    """The samples between `start` and `end` seconds (negative: from the end), and the rate."""
    samples, rate = read_samples(wav_path)
    length = samples.size / rate
    start, end = (t if t >= 0 else length + t for t in (start, end))
    return samples[int(start * rate) : int(end * rate)], rate


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    """The strongest spectral peak of `samples` in Hz (see dominant_frequency)."""
    tail = samples - samples.mean()
    spectrum = np.abs(np.fft.rfft(tail * np.hanning(tail.size)))
    spectrum[0] = 0.0
    peak = int(np.argmax(spectrum))
    offset = 0.0
    if 0 < peak < spectrum.size - 1:
        left, centre, right = np.log(spectrum[peak - 1 : peak + 2] + 1e-12)
        denominator = left - 2 * centre + right
        if denominator != 0:
            offset = 0.5 * (left - right) / denominator
    return float((peak + offset) * rate / tail.size)


def prompt_match(heard: np.ndarray, rate: int, prompt: Path | str) -> float:
    """How well `prompt` (a WAV) appears somewhere in `heard`, 1.0 for an exact copy.

    A phone under load drops or repeats 20 ms frames, and one lost frame shifts everything
    after it: a single whole-prompt correlation then falls from 1.0 to about 0.5. So the
    prompt is cut into half-second pieces, each piece is looked for near where the piece
    before it was found (the drift from lost frames stays within PIECE_DRIFT), and the score
    is the mean of the pieces' normalised correlations. After G.711 and a phone's resampling a
    played prompt still scores well above 0.6; another prompt, even one sharing words, or
    music scores near 0.2.
    """
    wanted, wanted_rate = read_samples(prompt)
    if rate != wanted_rate:  # bring what was heard to the prompt's rate
        times = np.arange(int(heard.size * wanted_rate / rate)) / wanted_rate
        heard = np.interp(times, np.arange(heard.size) / rate, heard)
    piece = wanted_rate // 2
    pieces = [(start, wanted[start : start + piece]) for start in range(0, wanted.size, piece)]
    loudest = max(float(np.sum(p**2)) for _, p in pieces)
    pieces = [(start, p) for start, p in pieces if p.size == piece and np.sum(p**2) > loudest / 20]
    if heard.size < wanted.size or not pieces:
        return 0.0
    scores = [_correlation(heard, p) for _, p in pieces]
    drift = int(PIECE_DRIFT * wanted_rate)
    best = 0.0
    # where the prompt starts if any one piece sits where it fits best
    for anchor in {
        int(np.argmax(score)) - start for (start, _), score in zip(pieces, scores, strict=True)
    }:
        found, total = anchor, 0.0
        for (start, _), score in zip(pieces, scores, strict=True):
            low = max(found + start - drift, 0)
            near = score[low : max(found + start + drift + 1, low + 1)]
            if near.size == 0:
                break
            total += float(near.max())
            found = low + int(np.argmax(near)) - start
        best = max(best, total / len(pieces))
    return best


PIECE_DRIFT = 0.1  # seconds a piece may sit away from where the piece before it predicts


def _correlation(heard: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of `wanted` at every offset of `heard` (1.0: exact copy)."""
    size = 1 << int(np.ceil(np.log2(heard.size + wanted.size)))
    correlation = np.fft.irfft(np.fft.rfft(heard, size) * np.conj(np.fft.rfft(wanted, size)), size)
    # energy of each window of `heard` as long as `wanted`, for the normalisation
    energy = np.concatenate(([0.0], np.cumsum(heard**2)))
    windows = energy[wanted.size :] - energy[: -wanted.size]
    return correlation[: windows.size] / np.sqrt(np.maximum(windows, 1e-12) * np.sum(wanted**2))
