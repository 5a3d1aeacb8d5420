"""Audio as the media engine carries it between codecs, mixer, player, recorder and detectors.

One frame is 20 ms of signed 16-bit linear PCM, mono, at the engine rate, in a numpy int16
array. Codecs with another rate (G.722 at 16 kHz, Opus at 48 kHz) resample at their edge.
"""

from __future__ import annotations

import numpy as np

ENGINE_RATE = 8000  # Hz
FRAME_MS = 20
FRAME_SAMPLES = ENGINE_RATE * FRAME_MS // 1000  # 160

Frame = np.ndarray  # shape (FRAME_SAMPLES,), dtype int16


def silence(samples: int = FRAME_SAMPLES) -> Frame:
    return np.zeros(samples, dtype=np.int16)


def saturate(samples: np.ndarray) -> Frame:
    """Clip a wider (int32/float) signal to int16, as mixing sums must be."""
    return np.clip(samples, -32768, 32767).astype(np.int16)
