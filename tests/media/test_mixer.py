"""Mixer: who hears whom, checked by the spectrum of what each participant receives."""

from __future__ import annotations

import numpy as np
import pytest

from pbxd.media.frames import FRAME_SAMPLES
from pbxd.media.mixer import (
    Mixer,
    MixerError,
    barge,
    bridge,
    conference,
    listen,
    whisper,
)

RATE = 8000
BIN_HZ = RATE / FRAME_SAMPLES  # 50 Hz per FFT bin of one frame


def tone(freq: float, amplitude: float = 6000.0) -> np.ndarray:
    """One frame of a sine; multiples of 50 Hz fit a whole number of cycles in it."""
    n = np.arange(FRAME_SAMPLES)
    return np.rint(amplitude * np.sin(2 * np.pi * freq * n / RATE)).astype(np.int16)


def level_at(frame: np.ndarray, freq: float) -> float:
    """Amplitude of the `freq` component of one frame."""
    spectrum = np.abs(np.fft.rfft(frame.astype(np.float64))) * 2 / FRAME_SAMPLES
    return float(spectrum[int(round(freq / BIN_HZ))])


def heard(frame: np.ndarray, freqs: dict[str, float]) -> set[str]:
    """Which of the named tones are present (above 1/10 of their 6000 amplitude)."""
    return {name for name, f in freqs.items() if level_at(frame, f) > 600}


FREQS = {"sup": 500.0, "agent": 1000.0, "cust": 1500.0}


def say_all(mixer: Mixer, freqs=FREQS) -> dict:
    out = mixer.mix({name: tone(f) for name, f in freqs.items()})
    return {name: heard(frame, freqs) for name, frame in out.items()}


def test_three_party_conference_each_hears_the_other_two_and_not_itself():
    mixer = Mixer(conference(["sup", "agent", "cust"]))
    assert say_all(mixer) == {
        "sup": {"agent", "cust"},
        "agent": {"sup", "cust"},
        "cust": {"sup", "agent"},
    }


def test_conference_sum_is_exact_total_minus_own():
    rng = np.random.default_rng(7)
    ids = list(range(10))
    mixer = Mixer(conference(ids))
    frames = {i: rng.integers(-3000, 3000, FRAME_SAMPLES).astype(np.int16) for i in ids}
    frames[3] = None  # one member silent this tick
    out = mixer.mix(frames)
    talking = {i: f.astype(np.int32) for i, f in frames.items() if f is not None}
    for listener in ids:
        expected = sum(f for i, f in talking.items() if i != listener)
        np.testing.assert_array_equal(out[listener], expected.astype(np.int16))
        assert out[listener].dtype == np.int16


def test_two_party_bridge_passes_the_other_frame_through_untouched():
    mixer = Mixer(bridge("a", "b"))
    fa, fb = tone(1000), tone(1500)
    out = mixer.mix({"a": fa, "b": fb})
    assert out["a"] is fb and out["b"] is fa


def test_whisper_customer_gets_no_supervisor_energy():
    mixer = Mixer(whisper("sup", "agent", "cust"))
    out = mixer.mix({name: tone(f) for name, f in FREQS.items()})
    assert level_at(out["cust"], FREQS["sup"]) < 1.0
    assert heard(out["cust"], FREQS) == {"agent"}
    assert heard(out["agent"], FREQS) == {"sup", "cust"}
    assert heard(out["sup"], FREQS) == {"agent", "cust"}


def test_listen_supervisor_hears_both_and_nobody_hears_the_supervisor():
    mixer = Mixer(listen("sup", "agent", "cust"))
    assert say_all(mixer) == {"sup": {"agent", "cust"}, "agent": {"cust"}, "cust": {"agent"}}


def test_barge_all_three_hear_each_other():
    mixer = Mixer(barge("sup", "agent", "cust"))
    assert say_all(mixer) == {
        "sup": {"agent", "cust"},
        "agent": {"sup", "cust"},
        "cust": {"sup", "agent"},
    }


def test_switching_presets_on_a_live_mixer():
    mixer = Mixer(listen("sup", "agent", "cust"))
    mixer.set_matrix(whisper("sup", "agent", "cust"))
    assert say_all(mixer)["agent"] == {"sup", "cust"}
    mixer.set_matrix(bridge("agent", "cust"))
    assert say_all(mixer) == {"sup": set(), "agent": {"cust"}, "cust": {"agent"}}


@pytest.mark.parametrize("participants", [3, 10])
def test_saturation_clips_instead_of_wrapping(participants):
    mixer = Mixer(conference(range(participants)))
    loud = np.full(FRAME_SAMPLES, 30000, dtype=np.int16)
    out = mixer.mix({i: loud if i else -loud for i in range(participants)})
    # Listener 0 hears (participants - 1) * 30000: far above int16.
    assert np.all(out[0] == 32767)
    # Listener 1 hears -30000 + (participants - 2) * 30000.
    expected = np.clip(-30000 + (participants - 2) * 30000, -32768, 32767)
    assert np.all(out[1] == expected)


def test_saturation_on_the_matrix_path():
    mixer = Mixer(whisper("sup", "agent", "cust"))
    loud = np.full(FRAME_SAMPLES, -30000, dtype=np.int16)
    out = mixer.mix({"sup": loud, "agent": loud, "cust": loud})
    assert np.all(out["agent"] == -32768)
    assert np.all(out["cust"] == -30000)


def test_gains_scale_a_source():
    mixer = Mixer()
    for pid in ("a", "b", "c"):
        mixer.add(pid)
    mixer.set_link("a", "c", 0.5)
    mixer.set_link("b", "c", 2.0)
    fa, fb = tone(1000, 4000), tone(1500, 4000)
    out = mixer.mix({"a": fa, "b": fb})
    assert level_at(out["c"], 1000) == pytest.approx(2000, rel=0.01)
    assert level_at(out["c"], 1500) == pytest.approx(8000, rel=0.01)
    expected = np.rint(0.5 * fa.astype(np.float64) + 2.0 * fb).astype(np.int16)
    assert np.max(np.abs(out["c"].astype(int) - expected)) <= 1


def test_any_matrix_matches_a_plain_reference_sum():
    rng = np.random.default_rng(3)
    ids = [f"p{i}" for i in range(6)]
    matrix = {
        (s, listener): float(rng.choice([1.0, 2.0, 0.25]))
        for s in ids
        for listener in ids
        if s != listener and rng.random() < 0.5
    }
    mixer = Mixer(matrix)
    for pid in ids:
        mixer.add(pid)
    frames = {pid: rng.integers(-8000, 8000, FRAME_SAMPLES).astype(np.int16) for pid in ids}
    out = mixer.mix(frames)
    for listener in ids:
        ref = np.zeros(FRAME_SAMPLES)
        for (s, lst), gain in matrix.items():
            if lst == listener:
                ref += gain * frames[s]
        ref = np.clip(np.rint(ref), -32768, 32767)
        assert np.max(np.abs(out[listener].astype(int) - ref)) <= 1, listener


def test_listener_with_no_active_source_hears_silence():
    mixer = Mixer(conference(["a", "b", "c"]))
    out = mixer.mix({"a": tone(1000), "b": None})
    assert set(out) == {"a", "b", "c"}
    assert not np.any(out["a"])  # b and c said nothing
    np.testing.assert_array_equal(out["b"], tone(1000))
    assert out["a"].shape == (FRAME_SAMPLES,) and out["a"].dtype == np.int16


def test_mute_stops_talk_and_keeps_the_links():
    mixer = Mixer(conference(["sup", "agent", "cust"]))
    mixer.set_muted("agent")
    assert mixer.is_muted("agent")
    assert say_all(mixer) == {"sup": {"cust"}, "agent": {"sup", "cust"}, "cust": {"sup"}}
    mixer.set_muted("agent", False)
    assert say_all(mixer)["sup"] == {"agent", "cust"}


def test_deaf_stops_listening_only():
    mixer = Mixer(conference(["sup", "agent", "cust"]))
    mixer.set_deaf("cust")
    out = say_all(mixer)
    assert out["cust"] == set()
    assert out["agent"] == {"sup", "cust"}  # cust still talks
    mixer.set_deaf("cust", False)
    assert say_all(mixer)["cust"] == {"sup", "agent"}


def test_remove_drops_every_link_of_a_participant():
    mixer = Mixer(conference(["sup", "agent", "cust"]))
    mixer.remove("sup")
    assert mixer.participants == ("agent", "cust")
    assert mixer.links() == {("agent", "cust"): 1.0, ("cust", "agent"): 1.0}
    out = mixer.mix({name: tone(f) for name, f in FREQS.items()})  # "sup" is ignored now
    assert heard(out["agent"], FREQS) == {"cust"}


def test_nobody_hears_themself_and_mistakes_are_named():
    mixer = Mixer(bridge("a", "b"))
    with pytest.raises(MixerError, match="itself"):
        mixer.set_link("a", "a")
    with pytest.raises(MixerError, match="not in this mixer"):
        mixer.set_link("a", "zz")
    with pytest.raises(MixerError, match="gain"):
        mixer.set_link("a", "b", -1.0)
    with pytest.raises(MixerError, match="int16"):
        mixer.mix({"a": np.zeros(80, dtype=np.int16)})
    with pytest.raises(MixerError, match="itself"):
        mixer.set_matrix({("a", "a"): 1.0})
    assert mixer.links() == bridge("a", "b")  # the failed set_matrix changed nothing


def test_clear_link():
    mixer = Mixer(conference(["sup", "agent", "cust"]))
    mixer.clear_link("sup", "cust")
    assert mixer.gain("sup", "cust") == 0.0
    assert say_all(mixer)["cust"] == {"agent"}
