"""An agent's headset for Chromium: a fake microphone playing a tone, and what the page hears.

Chromium's fake capture device plays a WAV in a loop (--use-file-for-fake-audio-capture). The
tone comes in bursts (0.3 s on, 0.1 s off), as speech does: the browser's noise suppression
takes a steady tone for noise and fades it by 30 dB within three seconds. What a page hears
is measured with a WebAudio analyser on the softphone's remote stream: test-side scripts, the
product page has no such hook.
"""

from __future__ import annotations

import wave
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from .conftest import CHROMIUM, Console

MICROPHONE_RATE = 48000
REMOTE_AUDIO = "[data-testid=softphone-audio]"

# The analyser over `seconds`: the strongest frequency, and the share of the energy near
# each of `tones` (above 100 Hz).
_LISTEN = """async ([seconds, tones]) => {
  const audio = document.querySelector(AUDIO);
  if (!audio || !audio.srcObject) return null;
  const context = new AudioContext();
  await context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 16384;
  analyser.smoothingTimeConstant = 0.8;
  context.createMediaStreamSource(audio.srcObject).connect(analyser);
  await new Promise((done) => setTimeout(done, seconds * 1000));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  const hz = context.sampleRate / analyser.fftSize;
  let total = 0;
  let peak = 2;
  const near = tones.map(() => 0);
  bins.forEach((db, i) => {
    if (i * hz <= 100) return;
    const power = Math.pow(10, db / 10);
    total += power;
    if (db > bins[peak]) peak = i;
    tones.forEach((tone, k) => { if (Math.abs(i * hz - tone) < 25) near[k] += power; });
  });
  await context.close();
  return { frequency: peak * hz, shares: near.map((p) => (total > 0 ? p / total : 0)) };
}""".replace("AUDIO", repr(REMOTE_AUDIO))


def write_microphone(path: Path, frequency: float, seconds: float = 10.0) -> Path:
    t = np.arange(int(seconds * MICROPHONE_RATE)) / MICROPHONE_RATE
    bursts = (t % 0.4) < 0.3
    pcm = (0.4 * 32767 * np.sin(2 * np.pi * frequency * t) * bursts).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(MICROPHONE_RATE)
        out.writeframes(pcm.tobytes())
    return path


@contextmanager
def headsets(folder: Path, tones: dict[str, float]):
    """One headless Chromium per name, its microphone playing that name's tone."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (or set PBXD_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browsers = {}
        try:
            for name, tone in tones.items():
                microphone = write_microphone(folder / f"{name}.wav", tone)
                browsers[name] = playwright.chromium.launch(
                    executable_path=str(CHROMIUM),
                    headless=True,
                    args=[
                        "--use-fake-ui-for-media-stream",  # the microphone permission given
                        "--use-fake-device-for-media-stream",
                        f"--use-file-for-fake-audio-capture={microphone}",
                        "--autoplay-policy=no-user-gesture-required",
                        "--allow-loopback-in-peer-connection",  # pbxd is on 127.0.0.1 here
                    ],
                )
            yield browsers
        finally:
            for browser in browsers.values():
                browser.close()


def listen(console: Console, tones: list[float] = (), seconds: float = 1.5) -> dict:
    """What the page plays for `seconds`: {"frequency": peak Hz, "shares": [per tone]}."""
    heard = console.page.evaluate(_LISTEN, [seconds, list(tones)])
    assert heard is not None, "the page plays no remote audio"
    return heard


def share_near(samples: np.ndarray, rate: int, tone: float) -> float:
    """Share of a recording's energy (above 100 Hz) within 25 Hz of `tone`."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    total = spectrum[freqs > 100].sum()
    return float(spectrum[np.abs(freqs - tone) < 25].sum() / total) if total else 0.0
