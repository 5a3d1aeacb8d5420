"""The audio measurements the call tests rely on judge what a listener would."""

from __future__ import annotations

import numpy as np

from .audio import prompt_match, read_samples
from .pbxd_process import PROMPTS

QUEUE_GREETING = PROMPTS / "zh" / "vm-greeting-queue.wav"
DEFAULT_GREETING = PROMPTS / "zh" / "vm-greeting-default-end.wav"  # shares words with it


def _drop_frames(samples: np.ndarray, drops: int, rate: int) -> np.ndarray:
    """What a phone under load records: `drops` 20 ms frames lost at random places."""
    frame = rate // 50
    rng = np.random.default_rng(7)
    for _ in range(drops):
        at = int(rng.integers(0, samples.size - frame))
        samples = np.delete(samples, np.s_[at : at + frame])
    return samples


def _call_hearing(prompt: np.ndarray, rate: int) -> np.ndarray:
    """Noise, the prompt, silence, a tone: what a caller records around a greeting."""
    rng = np.random.default_rng(3)
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(2 * rate) / rate)
    return np.concatenate([rng.normal(0, 0.01, 3 * rate), prompt, np.zeros(rate), tone])


def test_a_prompt_heard_with_lost_frames_still_matches_and_another_does_not() -> None:
    greeting, rate = read_samples(QUEUE_GREETING)
    for drops in (0, 3, 10):
        heard = _call_hearing(_drop_frames(greeting, drops, rate), rate)
        matched = prompt_match(heard, rate, QUEUE_GREETING)
        other = prompt_match(heard, rate, DEFAULT_GREETING)
        assert matched > 0.9 and other < 0.45, (drops, matched, other)


def test_a_call_without_the_prompt_does_not_match() -> None:
    greeting, rate = read_samples(QUEUE_GREETING)
    heard = _call_hearing(np.zeros(greeting.size), rate)
    assert prompt_match(heard, rate, QUEUE_GREETING) < 0.3
    assert prompt_match(heard[: rate // 2], rate, QUEUE_GREETING) == 0.0  # shorter than it
