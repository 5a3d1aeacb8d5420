"""Codecs: G.711 bit exactness, tone round trips, sox cross-checks, bad payloads."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import numpy as np
import pytest

from pbxd.media.codecs import (
    ALAW_DECODE,
    ALAW_ENCODE,
    G722,
    GSM,
    MULAW_DECODE,
    MULAW_ENCODE,
    PCMA,
    PCMU,
    SUPPORTED,
    CodecError,
    alaw_encode,
    codec_for,
    codec_for_payload_type,
    mulaw_encode,
)

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 10000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.rint(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant_frequency(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm)), 8 * len(pcm)))
    return float(np.argmax(spectrum)) * rate / (8 * len(pcm))


def snr_db(reference: np.ndarray, signal: np.ndarray) -> float:
    reference = reference.astype(np.float64)
    error = signal.astype(np.float64) - reference
    return float(10 * np.log10(np.mean(reference**2) / max(np.mean(error**2), 1e-12)))


def round_trip(codec, pcm: np.ndarray) -> np.ndarray:
    """Encode and decode frame by frame (20 ms), as a call would."""
    encoder, decoder = codec.encoder(), codec.decoder()
    step = codec.frame_samples
    frames = []
    for start in range(0, len(pcm) - step + 1, step):
        payload = encoder.encode(pcm[start : start + step])
        assert len(payload) == codec.bytes_per_frame
        frames.append(decoder.decode(payload))
    encoder.close()
    decoder.close()
    return np.concatenate(frames)


def sox(args: list[str], data: bytes) -> bytes:
    # -D: no dither, or sox would perturb the samples it encodes.
    return subprocess.run(
        ["sox", "-D", *args], input=data, capture_output=True, check=True, timeout=30
    ).stdout


# --- G.711 ------------------------------------------------------------------------------


def test_mulaw_known_values():
    assert MULAW_DECODE[0xFF] == 0 and MULAW_DECODE[0x7F] == 0  # positive and negative zero
    assert MULAW_DECODE[0x00] == -32124 and MULAW_DECODE[0x80] == 32124
    assert MULAW_DECODE[0xFE] == 8 and MULAW_DECODE[0xEF] == 132  # first step; segment 1
    samples = np.array([0, -1, 8, 32767, -32768], dtype=np.int16)
    assert list(mulaw_encode(samples)) == [0xFF, 0x7F, 0xFE, 0x80, 0x00]


def test_alaw_known_values():
    assert ALAW_DECODE[0xD5] == 8 and ALAW_DECODE[0x55] == -8
    assert ALAW_DECODE[0xAA] == 32256 and ALAW_DECODE[0x2A] == -32256
    samples = np.array([0, -1, 15, 16, 32767, -32768], dtype=np.int16)
    assert list(alaw_encode(samples)) == [0xD5, 0x55, 0xD5, 0xD4, 0xAA, 0x2A]


def test_every_code_round_trips():
    codes = np.arange(256)
    alaw_back = ALAW_ENCODE[ALAW_DECODE.view(np.uint16)]
    assert np.array_equal(alaw_back, codes)
    mulaw_back = MULAW_ENCODE[MULAW_DECODE.view(np.uint16)]
    expected = codes.copy()
    expected[0x7F] = 0xFF  # negative zero decodes to 0, which encodes as positive zero
    assert np.array_equal(mulaw_back, expected)


@pytest.mark.parametrize(
    "encode_table, decode_table", [(MULAW_ENCODE, MULAW_DECODE), (ALAW_ENCODE, ALAW_DECODE)]
)
def test_encoder_is_a_monotonic_quantiser_onto_all_levels(encode_table, decode_table):
    levels = decode_table[encode_table[ALL_INT16.view(np.uint16)]].astype(np.int32)
    assert np.all(np.diff(levels) >= 0)
    assert set(levels.tolist()) == set(decode_table.tolist())
    # Each input lands within one step of its level (steps double per segment).
    sorted_levels = np.unique(decode_table.astype(np.int32))
    steps = np.diff(sorted_levels)
    local_step = np.concatenate([steps, steps[-1:]])[np.searchsorted(sorted_levels, levels)]
    assert np.all(np.abs(levels - ALL_INT16) <= local_step)


@pytest.mark.parametrize("table", [MULAW_ENCODE, ALAW_ENCODE])
def test_negative_inputs_use_the_ones_complement_like_g191(table):
    magnitudes = np.arange(0, 32768, dtype=np.int16)
    positive = table[magnitudes.view(np.uint16)]
    negative = table[(-1 - magnitudes).astype(np.int16).view(np.uint16)]
    assert np.array_equal(negative, positive & 0x7F)


def test_matches_cpythons_independent_g711_implementation():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    data = ALL_INT16.tobytes()
    assert alaw_encode(ALL_INT16) == audioop.lin2alaw(data, 2)
    theirs = np.frombuffer(audioop.lin2ulaw(data, 2), dtype=np.uint8)
    ours = np.frombuffer(mulaw_encode(ALL_INT16), dtype=np.uint8)
    # audioop negates negative samples (x -> -x) where G.191 takes -x - 1; positives agree.
    assert np.array_equal(ours[ALL_INT16 >= 0], theirs[ALL_INT16 >= 0])
    assert np.array_equal(
        np.frombuffer(audioop.ulaw2lin(bytes(range(256)), 2), np.int16), MULAW_DECODE
    )
    assert np.array_equal(
        np.frombuffer(audioop.alaw2lin(bytes(range(256)), 2), np.int16), ALAW_DECODE
    )


@needs_sox
@pytest.mark.parametrize("encoding, codec", [("mu-law", PCMU), ("a-law", PCMA)])
def test_sox_decodes_every_code_to_our_samples(encoding, codec):
    payload = bytes(range(256))
    decoded = sox(
        [
            "-t",
            "raw",
            "-r",
            "8000",
            "-e",
            encoding,
            "-b",
            "8",
            "-c",
            "1",
            "-",
            "-t",
            "raw",
            "-e",
            "signed",
            "-b",
            "16",
            "-",
        ],
        payload,
    )
    assert np.array_equal(np.frombuffer(decoded, np.int16), codec.decoder().decode(payload))


@needs_sox
@pytest.mark.parametrize("encoding, codec", [("mu-law", PCMU), ("a-law", PCMA)])
def test_sox_decodes_our_encoded_tone(encoding, codec):
    pcm = tone(1000, 8000)
    payload = codec.encoder().encode(pcm)
    decoded = np.frombuffer(
        sox(
            [
                "-t",
                "raw",
                "-r",
                "8000",
                "-e",
                encoding,
                "-b",
                "8",
                "-c",
                "1",
                "-",
                "-t",
                "raw",
                "-e",
                "signed",
                "-b",
                "16",
                "-",
            ],
            payload,
        ),
        np.int16,
    )
    assert np.array_equal(decoded, codec.decoder().decode(payload))
    assert snr_db(pcm, decoded) > 30


# --- tone round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("codec", [PCMU, PCMA])
def test_g711_tone_round_trip(codec):
    pcm = tone(1000, 8000)
    decoded = round_trip(codec, pcm)
    assert dominant_frequency(decoded, 8000) == pytest.approx(1000, abs=5)
    assert snr_db(pcm, decoded) > 30
    quiet = tone(400, 8000, amplitude=300)  # companding keeps quiet speech usable
    assert snr_db(quiet, round_trip(codec, quiet)) > 25


def test_g722_tone_round_trip_after_its_delay():
    pcm = tone(1000, 16000)
    decoded = round_trip(G722, pcm).astype(np.float64)
    assert len(decoded) == len(pcm)
    # G.722's QMF filter banks delay the signal a few ms: find it by cross-correlation.
    core = slice(2000, len(pcm) - 2000)
    reference = pcm[core].astype(np.float64)
    delays = range(0, 80)
    scores = [np.dot(reference, decoded[core.start + d : core.stop + d]) for d in delays]
    delay = delays[int(np.argmax(scores))]
    assert 0 < delay < 80
    assert dominant_frequency(decoded, 16000) == pytest.approx(1000, abs=5)
    assert snr_db(reference, decoded[core.start + delay : core.stop + delay]) > 20
    # Wideband: a 6 kHz tone, beyond any narrowband codec, survives too.
    high = tone(6000, 16000)
    assert dominant_frequency(round_trip(G722, high), 16000) == pytest.approx(6000, abs=5)


def test_gsm_tone_round_trip():
    pcm = tone(1000, 8000)
    decoded = round_trip(GSM, pcm)
    assert dominant_frequency(decoded[800:], 8000) == pytest.approx(1000, abs=20)
    ratio = np.sqrt(np.mean(decoded[800:].astype(float) ** 2) / np.mean(pcm.astype(float) ** 2))
    assert 0.5 < ratio < 2


@needs_sox
def test_sox_decodes_our_gsm_and_we_decode_soxs(tmp_path):
    pcm = tone(1000, 8000)
    ours = GSM.encoder().encode(pcm)
    path = tmp_path / "tone.gsm"  # a .gsm file is bare 33-byte frames
    path.write_bytes(ours)
    by_sox = np.frombuffer(
        sox([str(path), "-t", "raw", "-e", "signed", "-b", "16", "-"], b""), np.int16
    )
    assert len(by_sox) == len(pcm)
    assert dominant_frequency(by_sox[800:], 8000) == pytest.approx(1000, abs=20)
    assert np.array_equal(by_sox, GSM.decoder().decode(ours))
    sox_encoded = sox(
        ["-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", "-", "-t", "gsm", "-"],
        pcm.tobytes(),
    )
    assert len(sox_encoded) == 50 * 33
    decoded = GSM.decoder().decode(sox_encoded)
    assert dominant_frequency(decoded[800:], 8000) == pytest.approx(1000, abs=20)


def test_streams_have_independent_state():
    pcm = tone(700, 16000, 0.2)
    first = G722.encoder()
    alone = b"".join(first.encode(pcm[i : i + 320]) for i in range(0, len(pcm), 320))
    a, b = G722.encoder(), G722.encoder()
    interleaved_a = []
    for i in range(0, len(pcm), 320):
        interleaved_a.append(a.encode(pcm[i : i + 320]))
        b.encode(np.zeros(320, np.int16))
    assert b"".join(interleaved_a) == alone


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 32, 34, 65, 100])
def test_gsm_refuses_payloads_that_are_not_whole_frames(length):
    with pytest.raises(CodecError, match="33"):
        GSM.decoder().decode(bytes([0xD0]) * length)


def test_gsm_refuses_frames_without_its_signature():
    with pytest.raises(CodecError, match="signature"):
        GSM.decoder().decode(bytes(33))


@pytest.mark.parametrize("codec", SUPPORTED, ids=lambda codec: codec.name)
def test_empty_payload_is_a_codec_error(codec):
    with pytest.raises(CodecError):
        codec.decoder().decode(b"")


def test_encoders_refuse_partial_blocks_and_wrong_types():
    with pytest.raises(CodecError):
        GSM.encoder().encode(np.zeros(100, np.int16))
    with pytest.raises(CodecError):
        G722.encoder().encode(np.zeros(321, np.int16))
    with pytest.raises(TypeError):
        PCMU.encoder().encode(np.zeros(160, np.float32))
    with pytest.raises(TypeError):
        PCMA.encoder().encode(np.zeros((2, 160), np.int16))


@pytest.mark.parametrize("codec", SUPPORTED, ids=lambda codec: codec.name)
def test_random_payloads_raise_only_codec_errors(codec):
    rng = np.random.default_rng(7)
    decoder = codec.decoder()
    for _ in range(300):
        length = int(rng.integers(0, 400))
        payload = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        if codec is GSM and rng.random() < 0.5:  # give most frames a valid signature
            payload = bytes(b & 0x0F | 0xD0 if i % 33 == 0 else b for i, b in enumerate(payload))
        try:
            out = decoder.decode(payload)
        except CodecError:
            continue
        assert out.dtype == np.int16 and len(out) > 0


def test_close_is_idempotent():
    for codec in SUPPORTED:
        encoder, decoder = codec.encoder(), codec.decoder()
        encoder.close()
        encoder.close()
        decoder.close()
        decoder.close()


# --- registry -----------------------------------------------------------------------------


def test_registry_by_sdp_name_and_clock_rate():
    assert codec_for("pcmu", 8000) is PCMU
    assert codec_for("PCMA", 8000) is PCMA
    assert codec_for("g722", 8000) is G722  # RFC 3551: G.722's RTP clock is 8000
    assert codec_for("G722", 16000) is None
    assert codec_for("gsm", 8000) is GSM
    assert codec_for("telephone-event", 8000) is None
    assert codec_for("opus", 48000) is None
    assert [codec_for_payload_type(pt) for pt in (0, 3, 8, 9, 18)] == [PCMU, GSM, PCMA, G722, None]


def test_descriptions():
    assert [codec.name for codec in SUPPORTED] == ["PCMU", "PCMA", "G722", "GSM"]
    assert G722.sample_rate == 16000 and G722.clock_rate == 8000 and G722.frame_samples == 320
    assert all(codec.timestamp_step == 160 for codec in SUPPORTED)
    assert [codec.bytes_per_frame for codec in SUPPORTED] == [160, 160, 160, 33]
    with pytest.raises(AttributeError):
        PCMU.clock_rate = 16000


def test_a_missing_library_names_the_debian_package():
    from pbxd.media.native import NativeLibraryError, _Library

    missing = _Library("libpbxd-test-absent.so.0", "libabsent1", "int absent(void);")
    with pytest.raises(NativeLibraryError, match="apt-get install libabsent1"):
        missing.load()
    assert not missing.available()
