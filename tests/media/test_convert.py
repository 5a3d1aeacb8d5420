"""Uploaded WAV files converted to 8 kHz mono 16-bit PCM: checked by ear's proxy, the FFT.

Each input is a tone written in one encoding; the output is read back with the stdlib `wave`
module (an independent reader) and must carry the same tone at the same loudness.
"""

from __future__ import annotations

import io
import random
import struct
import wave

import numpy as np
import pytest

from pbxd.media.codecs import alaw_encode, mulaw_encode
from pbxd.media.convert import MAX_SECONDS, AudioFormatError, convert_wav

PCM, FLOAT, ALAW, MULAW, EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


# -- building WAV files -----------------------------------------------------------------------


def fmt_chunk(tag: int, channels: int, rate: int, bits: int, *, extensible: bool = False) -> bytes:
    align = channels * bits // 8
    if not extensible:
        body = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    else:
        body = struct.pack("<HHIIHH", EXTENSIBLE, channels, rate, rate * align, align, bits)
        mask = (1 << channels) - 1
        body += struct.pack("<HHI", 22, bits, mask) + struct.pack("<H", tag) + GUID_TAIL
    return chunk(b"fmt ", body)


def chunk(chunk_id: bytes, body: bytes, *, pad: bool = True) -> bytes:
    out = chunk_id + struct.pack("<I", len(body)) + body
    return out + b"\x00" if pad and len(body) & 1 else out


def riff(*chunks: bytes, size: int | None = None) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) if size is None else size) + body


def tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    """A sine at `amplitude` of full scale, as float in [-1, 1]."""
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def encode(signal: np.ndarray, encoding: str) -> tuple[int, int, bytes]:
    """(format tag, bits, sample bytes) of a float signal in one of the encodings."""
    if encoding == "u8":
        return PCM, 8, np.clip(np.rint(signal * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    if encoding == "s16":
        return PCM, 16, np.rint(signal * 32767).astype("<i2").tobytes()
    if encoding == "s24":
        ints = np.rint(signal * (2**23 - 1)).astype("<i4")
        return PCM, 24, ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    if encoding == "s32":
        return PCM, 32, np.rint(signal * (2**31 - 1)).astype("<i4").tobytes()
    if encoding == "f32":
        return FLOAT, 32, signal.astype("<f4").tobytes()
    if encoding == "f64":
        return FLOAT, 64, signal.astype("<f8").tobytes()
    pcm = np.rint(signal * 32767).astype(np.int16)
    if encoding == "alaw":
        return ALAW, 8, alaw_encode(pcm)
    if encoding == "ulaw":
        return MULAW, 8, mulaw_encode(pcm)
    raise AssertionError(encoding)


def make_wav(
    channels_signal: list[np.ndarray], rate: int, encoding: str, *, extensible: bool = False
) -> bytes:
    interleaved = np.stack(channels_signal, axis=1).reshape(-1)
    tag, bits, samples = encode(interleaved, encoding)
    return riff(
        fmt_chunk(tag, len(channels_signal), rate, bits, extensible=extensible),
        chunk(b"data", samples),
    )


# -- reading the result -----------------------------------------------------------------------


def read_output(data: bytes) -> np.ndarray:
    """The converted file through the stdlib reader, which must accept it as 8k mono 16-bit."""
    with wave.open(io.BytesIO(data), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64)


def peak_frequency(pcm: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[np.argmax(spectrum)])


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(pcm))))


def steady(pcm: np.ndarray) -> np.ndarray:
    """The middle of a tone, away from the filter's start and end."""
    return pcm[len(pcm) // 10 : -len(pcm) // 10]


# -- conversions ------------------------------------------------------------------------------

CASES = [
    # rate, channels, encoding, extensible, tone Hz, amplitude tolerance
    (44100, 1, "s16", False, 1000.0, 0.02),
    (48000, 1, "s16", False, 440.0, 0.02),
    (16000, 2, "s16", False, 1500.0, 0.02),
    (48000, 2, "f32", False, 700.0, 0.02),
    (22050, 1, "f64", False, 2500.0, 0.02),
    (8000, 1, "alaw", False, 1000.0, 0.03),
    (8000, 1, "ulaw", False, 600.0, 0.03),
    (44100, 1, "s24", False, 1234.0, 0.02),
    (32000, 1, "s32", False, 900.0, 0.02),
    (11025, 1, "u8", False, 500.0, 0.05),
    (48000, 6, "f32", True, 1000.0, 0.02),
    (44100, 2, "s24", True, 300.0, 0.02),
    (8000, 1, "ulaw", True, 1800.0, 0.03),
]


@pytest.mark.parametrize(("rate", "channels", "encoding", "extensible", "freq", "tolerance"), CASES)
def test_tone_keeps_its_pitch_loudness_and_length(
    rate, channels, encoding, extensible, freq, tolerance
) -> None:
    seconds = 1.5
    signal = tone(freq, rate, seconds, amplitude=0.5)
    data = make_wav([signal] * channels, rate, encoding, extensible=extensible)

    out = read_output(convert_wav(data))

    assert len(out) == round(len(signal) * 8000 / rate)
    assert abs(peak_frequency(steady(out)) - freq) <= 8000 / len(steady(out)) * 2
    expected_rms = 0.5 * 32767 / np.sqrt(2)
    assert rms(steady(out)) == pytest.approx(expected_rms, rel=tolerance)


def test_tone_starts_on_time() -> None:
    """No filter delay left in: a burst at 0.5 s in a 44.1 kHz file is at 0.5 s at 8 kHz."""
    rate = 44100
    signal = np.zeros(rate)
    burst = tone(1000, rate, 0.1)
    signal[rate // 2 : rate // 2 + len(burst)] = burst
    out = read_output(convert_wav(make_wav([signal], rate, "s16")))
    loud = np.flatnonzero(np.abs(out) > 1000)
    assert loud[0] == pytest.approx(4000, abs=3)
    assert loud[-1] == pytest.approx(4800, abs=3)


def test_stereo_is_mixed_by_mean() -> None:
    rate = 16000
    left = tone(1000, rate, 1.0, amplitude=0.8)
    out = read_output(convert_wav(make_wav([left, np.zeros_like(left)], rate, "s16")))
    assert rms(steady(out)) == pytest.approx(0.4 * 32767 / np.sqrt(2), rel=0.02)


def test_tone_above_4khz_is_filtered_not_folded_down() -> None:
    """6 kHz at 48 kHz would alias to 2 kHz with a naive decimation; the low-pass removes it."""
    rate = 48000
    loud = 0.9 * 32767 / np.sqrt(2)
    out = read_output(convert_wav(make_wav([tone(6000, rate, 1.0, amplitude=0.9)], rate, "s16")))
    assert rms(steady(out)) < loud * 10 ** (-60 / 20)
    # The same level inside the telephone band passes unchanged: the filter is not a mute.
    out = read_output(convert_wav(make_wav([tone(3000, rate, 1.0, amplitude=0.9)], rate, "s16")))
    assert rms(steady(out)) == pytest.approx(loud, rel=0.02)


def test_float_beyond_full_scale_is_clipped_not_wrapped() -> None:
    rate = 8000
    signal = tone(200, rate, 0.5, amplitude=1.5)
    out = read_output(convert_wav(make_wav([signal], rate, "f32")))
    assert out.max() == 32767 and out.min() == -32768
    # Wrapping round would flip signs; clipping keeps every sample on the input's side.
    strong = np.abs(signal) > 0.01
    assert np.all(np.sign(out[strong]) == np.sign(signal[strong]))


def test_float_nan_and_infinity_become_silence() -> None:
    samples = np.array([0.5, np.nan, np.inf, -np.inf, -0.5] * 100, dtype="<f4")
    data = riff(fmt_chunk(FLOAT, 1, 8000, 32), chunk(b"data", samples.tobytes()))
    out = read_output(convert_wav(data))
    assert list(out[:5]) == [16384, 0, 0, 0, -16384]


# -- tolerated oddities -----------------------------------------------------------------------


def _samples(n: int = 800) -> bytes:
    return np.rint(tone(1000, 8000, n / 8000) * 32767).astype("<i2").tobytes()


def test_extra_chunks_and_a_wrong_riff_size_are_skipped() -> None:
    info = chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00Lavf\x00\x00")
    data = riff(
        chunk(b"JUNK", b"\x00" * 28),
        fmt_chunk(PCM, 1, 8000, 16),
        info,
        chunk(b"fact", struct.pack("<I", 800)),
        chunk(b"data", _samples()),
        info,
        size=12345,
    )
    assert np.array_equal(read_output(convert_wav(data)), np.frombuffer(_samples(), "<i2"))


@pytest.mark.parametrize("pad", [True, False])
def test_odd_sized_chunk_with_or_without_its_pad_byte(pad: bool) -> None:
    data = riff(
        fmt_chunk(PCM, 1, 8000, 16),
        chunk(b"LIST", b"INFOICMT\x03\x00\x00\x00hi\x00", pad=pad),
        chunk(b"data", _samples()),
    )
    assert np.array_equal(read_output(convert_wav(data)), np.frombuffer(_samples(), "<i2"))


def test_data_of_unknown_size_runs_to_the_end() -> None:
    """Writers streaming to a pipe leave 0xFFFFFFFF as the size."""
    data = riff(fmt_chunk(PCM, 1, 8000, 16)) + b"data" + b"\xff\xff\xff\xff" + _samples()
    assert np.array_equal(read_output(convert_wav(data)), np.frombuffer(_samples(), "<i2"))


def test_partial_last_frame_is_dropped() -> None:
    stereo = np.repeat(np.frombuffer(_samples(), "<i2"), 2).tobytes() + b"\x01"
    data = riff(fmt_chunk(PCM, 2, 8000, 16), chunk(b"data", stereo))
    assert len(read_output(convert_wav(data))) == 800


def test_exactly_the_maximum_length_is_accepted() -> None:
    silence = b"\x80" * (8000 * MAX_SECONDS)
    data = riff(fmt_chunk(PCM, 1, 8000, 8), chunk(b"data", silence))
    out = read_output(convert_wav(data))
    assert len(out) == 8000 * MAX_SECONDS and not out.any()


# -- refusals ---------------------------------------------------------------------------------


def refused(data: bytes) -> str:
    with pytest.raises(AudioFormatError) as info:
        convert_wav(data)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_empty_upload() -> None:
    assert refused(b"").startswith("empty")


def test_no_audio_in_the_data_chunk() -> None:
    assert refused(riff(fmt_chunk(PCM, 1, 8000, 16), chunk(b"data", b""))).startswith("empty")


@pytest.mark.parametrize(
    "garbage",
    [
        b"hello, this is a text file\n" * 10,
        b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)),  # an MP3 file
        b"fLaC\x00\x00\x00\x22" + b"\x00" * 40,
        b"RIFF\x10\x00\x00\x00AVI LIST",
        b"RIF",
        bytes(random.Random(5).getrandbits(8) for _ in range(4096)),
    ],
)
def test_garbage_is_not_a_wav_file(garbage: bytes) -> None:
    assert refused(garbage).startswith("not a WAV file")


def test_mp3_in_wav_is_refused_by_name() -> None:
    mp3 = struct.pack("<HHIIHH", 0x55, 2, 44100, 16000, 1, 0) + b"\x0c\x00" + b"\x00" * 12
    data = riff(chunk(b"fmt ", mp3), chunk(b"data", b"\xff\xfb\x90\x00" * 100))
    assert refused(data).startswith("unsupported WAV encoding: format 85 (MP3 in WAV)")


def test_adpcm_and_unknown_extensible_subformats_are_refused() -> None:
    adpcm = struct.pack("<HHIIHH", 0x11, 1, 8000, 4055, 256, 4) + b"\x02\x00\xf9\x01"
    assert "format 17 (IMA ADPCM)" in refused(riff(chunk(b"fmt ", adpcm), chunk(b"data", b"x")))
    body = struct.pack("<HHIIHH", EXTENSIBLE, 1, 8000, 16000, 2, 16)
    body += struct.pack("<HHI", 22, 16, 4) + bytes(range(16))  # not a KSDATAFORMAT GUID
    message = refused(riff(chunk(b"fmt ", body), chunk(b"data", _samples())))
    assert message.startswith("unsupported WAV encoding: extensible sub-format")


def test_truncated_data_is_refused() -> None:
    whole = riff(fmt_chunk(PCM, 1, 44100, 16), chunk(b"data", _samples(4000)))
    message = refused(whole[:-1000])
    assert message.startswith("truncated WAV file")
    assert "7000 bytes of 8000" in message


def test_truncated_header_is_refused() -> None:
    whole = riff(fmt_chunk(PCM, 1, 8000, 16), chunk(b"data", _samples()))
    assert refused(whole[:30]).startswith("truncated WAV file")  # inside the fmt chunk
    assert refused(whole[:36]).startswith("truncated WAV file")  # no data chunk


def test_too_long() -> None:
    data = riff(fmt_chunk(PCM, 1, 8000, 8), chunk(b"data", b"\x80" * (8000 * 612)))
    assert refused(data) == "too long: 612 s, at most 600 s"


@pytest.mark.parametrize(
    ("fmt", "words"),
    [
        (fmt_chunk(PCM, 1, 96000, 16), "sample rate: 96000 Hz"),
        (fmt_chunk(PCM, 1, 4000, 16), "sample rate: 4000 Hz"),
        (fmt_chunk(PCM, 9, 8000, 16), "9 channels"),
        (fmt_chunk(PCM, 0, 8000, 16), "0 channels"),
        (fmt_chunk(PCM, 1, 8000, 12), "12-bit PCM"),
        (fmt_chunk(FLOAT, 1, 8000, 16), "16-bit float"),
        (fmt_chunk(ALAW, 1, 8000, 16), "16-bit G.711"),
    ],
)
def test_unsupported_parameters_are_named(fmt: bytes, words: str) -> None:
    assert words in refused(riff(fmt, chunk(b"data", _samples())))


def test_only_audio_format_errors_escape_for_cut_or_damaged_files() -> None:
    """Every prefix, and random byte flips, of a file with extra chunks: converted or refused
    with AudioFormatError, nothing else."""
    whole = riff(
        fmt_chunk(FLOAT, 2, 16000, 32, extensible=True),
        chunk(b"LIST", b"INFOINAM\x05\x00\x00\x00tone\x00", pad=False),
        chunk(b"data", np.zeros(64, "<f4").tobytes()),
    )
    damaged = [whole[:n] for n in range(len(whole))]
    rng = random.Random(7)
    for _ in range(300):
        buffer = bytearray(whole)
        for _ in range(rng.randint(1, 4)):
            buffer[rng.randrange(len(buffer))] = rng.getrandbits(8)
        damaged.append(bytes(buffer))
    for data in damaged:
        try:
            read_output(convert_wav(data))
        except AudioFormatError:
            pass
