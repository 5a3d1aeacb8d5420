"""Call recordings as WAV files that survive a crash.

Formats (all 8000 Hz):

| format    | WAV format tag              | bytes/s (mono) | channels |
|-----------|-----------------------------|----------------|----------|
| wav-pcm16 | 0x0001 PCM, 16-bit          | 16000          | 1 or 2   |
| wav-pcma  | 0x0006 G.711 A-law          | 8000           | 1 or 2   |
| wav-pcmu  | 0x0007 G.711 mu-law         | 8000           | 1 or 2   |
| wav-gsm   | 0x0031 GSM 6.10 ("WAV49")   | 1625           | 1        |

Two channels: left = caller, right = callee (`write_stereo(caller, callee)`). A mono recorder
given both sides (`write_stereo`) records their mix.

WAV49 packs two GSM 06.10 frames (2 x 260 bits) into one 65-byte block, least significant
bit first, without the 4-bit signature of the RTP/.gsm frame format (RFC 3551 4.5.8). The
encoder here is the codecs module's ordinary GSM encoder; `gsm_frames_to_wav49` re-packs its
33-byte frames bit for bit, so sox, Windows and most players read the result.

Crash safety (the choice made here):
- The file is written under a temporary name, `<final name>.part`, in the target directory,
  created with O_EXCL: two recorders can never share a file, and an existing recording is
  never overwritten (the final name must not exist either).
- The header is written at once; every `checkpoint_seconds` of audio the buffered data is
  written, the header sizes are rewritten and (with `sync`) the file is fsynced. A process
  crash or power loss then loses at most that much audio. In the engine this file work runs
  on a `RecordingWriter` thread: an fsync may take tens of milliseconds on an SD card or USB
  stick, longer than the 20 ms media tick.
- `close()` finalises the header, fsyncs and renames the file to its final name. So a file
  under its final name is always complete; a `.part` file is a recording that was cut.
- At start-up `repair_directory(dir)` finds the `.part` files, fixes their RIFF/data/fact
  sizes from the actual length (dropping a trailing partial sample or GSM block) and renames
  them to their final names.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import struct
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .codecs import GSM, PCMA, PCMU, CodecError
from .frames import ENGINE_RATE, FRAME_SAMPLES, Frame, saturate

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
FORMATS = ("wav-pcm16", "wav-pcmu", "wav-pcma", "wav-gsm")
DEFAULT_CHECKPOINT_SECONDS = 5.0
_BUFFER_BYTES = 64 * 1024

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_ALAW = 0x0006
WAVE_FORMAT_MULAW = 0x0007
WAVE_FORMAT_GSM610 = 0x0031

GSM_FRAME_BYTES = 33
WAV49_BLOCK_BYTES = 65
WAV49_BLOCK_SAMPLES = 2 * FRAME_SAMPLES


class RecorderError(Exception):
    """A recording that cannot be started, written or repaired."""


# -- WAV49 packing ----------------------------------------------------------------------------

# GSM 06.10 parameters in frame order (RFC 3551 4.5.8): LARc[1..8], then for each of the four
# sub-frames Nc, bc, Mc, xmaxc and 13 xMc. Widths in bits; 260 bits in all.
_GSM_FIELD_BITS = (6, 6, 5, 5, 4, 4, 3, 3) + ((7, 2, 2, 6) + (3,) * 13) * 4
_GSM_FRAME_BITS = sum(_GSM_FIELD_BITS)  # 260


def _wav49_permutation() -> np.ndarray:
    """For each bit of a WAV49 block (LSB-first stream), its index in two RTP frames' bits.

    An RTP frame is 4 signature bits and then each field most significant bit first. WAV49
    has no signature and writes each field least significant bit first into a little-endian
    bit stream, the second frame straight after the first (at bit 260, mid-byte).
    """
    perm = np.empty(2 * _GSM_FRAME_BITS, dtype=np.intp)
    for frame in range(2):
        src = frame * GSM_FRAME_BYTES * 8 + 4  # skip the signature nibble
        dst = frame * _GSM_FRAME_BITS
        for width in _GSM_FIELD_BITS:
            for bit in range(width):  # bit 0 = least significant
                perm[dst + bit] = src + width - 1 - bit
            src += width
            dst += width
    return perm


_WAV49_PERMUTATION = _wav49_permutation()


def gsm_frames_to_wav49(frames: bytes) -> bytes:
    """Re-pack an even number of 33-byte GSM frames into 65-byte WAV49 blocks."""
    if len(frames) % (2 * GSM_FRAME_BYTES):
        raise RecorderError(f"{len(frames)} bytes is not a whole number of GSM frame pairs")
    pairs = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 2 * GSM_FRAME_BYTES)
    bits = np.unpackbits(pairs, axis=1, bitorder="big")
    return np.packbits(bits[:, _WAV49_PERMUTATION], axis=1, bitorder="little").tobytes()


# -- WAV header ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where the sizes live in one of our WAV headers."""

    tag: int
    channels: int
    block_align: int  # bytes per block
    block_samples: int  # samples (per channel) per block
    bits: int
    fmt_extra: bytes  # cbSize and what follows, for non-PCM formats
    has_fact: bool

    @classmethod
    def for_format(cls, fmt: str, channels: int) -> _Layout:
        if fmt == "wav-pcm16":
            return cls(WAVE_FORMAT_PCM, channels, 2 * channels, 1, 16, b"", False)
        if fmt in ("wav-pcmu", "wav-pcma"):
            tag = WAVE_FORMAT_MULAW if fmt == "wav-pcmu" else WAVE_FORMAT_ALAW
            return cls(tag, channels, channels, 1, 8, struct.pack("<H", 0), True)
        if fmt == "wav-gsm":
            extra = struct.pack("<HH", 2, WAV49_BLOCK_SAMPLES)
            return cls(
                WAVE_FORMAT_GSM610, 1, WAV49_BLOCK_BYTES, WAV49_BLOCK_SAMPLES, 0, extra, True
            )
        raise RecorderError(f"unknown recording format {fmt!r}; one of {', '.join(FORMATS)}")

    @property
    def fmt_size(self) -> int:
        return 16 + len(self.fmt_extra)

    @property
    def fact_offset(self) -> int:  # the sample count in the fact chunk
        return 12 + 8 + self.fmt_size + 8

    @property
    def data_size_offset(self) -> int:
        return 12 + 8 + self.fmt_size + (12 if self.has_fact else 0) + 4

    @property
    def header_size(self) -> int:
        return self.data_size_offset + 4

    def header(self) -> bytes:
        byte_rate = ENGINE_RATE * self.block_align // self.block_samples
        fmt = (
            struct.pack(
                "<HHIIHH",
                self.tag,
                self.channels,
                ENGINE_RATE,
                byte_rate,
                self.block_align,
                self.bits,
            )
            + self.fmt_extra
        )
        parts = [b"RIFF", struct.pack("<I", 0), b"WAVE", b"fmt ", struct.pack("<I", len(fmt)), fmt]
        if self.has_fact:
            parts += [b"fact", struct.pack("<II", 4, 0)]
        parts += [b"data", struct.pack("<I", 0)]
        head = b"".join(parts)
        assert len(head) == self.header_size
        return head

    def sizes(self, data_size: int) -> list[tuple[int, bytes]]:
        """(offset, bytes) patches that make the header describe `data_size` bytes of audio."""
        padded = data_size + (data_size & 1)
        patches = [
            (4, struct.pack("<I", self.header_size - 8 + padded)),
            (self.data_size_offset, struct.pack("<I", data_size)),
        ]
        if self.has_fact:
            samples = data_size // self.block_align * self.block_samples
            patches.append((self.fact_offset, struct.pack("<I", samples)))
        return patches


# -- recorder --------------------------------------------------------------------------------


def part_path(path: str | os.PathLike[str]) -> Path:
    """Where a recording bound for `path` lives until it is closed."""
    path = Path(path)
    return path.with_name(path.name + PART_SUFFIX)


class Recorder:
    """Writes one recording; `close()` (or leaving a `with` block) completes it.

    The tick side (this class) encodes and buffers; the file side (`_WavFile`) writes,
    checkpoints, fsyncs and publishes. Given a `RecordingWriter`, the file side runs on that
    writer's thread, so no fsync ever delays the media tick; a failure there (disk full) shows
    up in `error` and in `completed`, and the recording stops taking audio. Without a writer,
    everything runs inline and failures raise RecorderError at once.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: str = "wav-pcm16",  # noqa: A002 - the engine's command interface name
        channels: int = 1,
        checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
        sync: bool = True,
        writer: RecordingWriter | None = None,
    ) -> None:
        if channels not in (1, 2):
            raise RecorderError(f"channels must be 1 (mixed) or 2 (caller, callee), not {channels}")
        if format == "wav-gsm" and channels != 1:
            raise RecorderError("wav-gsm (WAV49) recordings are mono only")
        if not checkpoint_seconds > 0:
            raise RecorderError("checkpoint_seconds must be positive")
        self.path = Path(path)
        self.part_path = part_path(self.path)
        self.format = format
        self.channels = channels
        self.sync = sync
        self.writer = writer
        layout = _Layout.for_format(format, channels)
        self._checkpoint_samples = max(1, int(checkpoint_seconds * ENGINE_RATE))
        if format == "wav-pcm16":
            self._encode = _encode_pcm16
        elif format == "wav-gsm":
            self._encode = self._encode_gsm
            self._gsm = GSM.encoder()
            self._pending = np.zeros(0, dtype=np.int16)
        else:
            self._encode = (PCMU if format == "wav-pcmu" else PCMA).encoder().encode
        # Created here, on the caller's thread: a bad path is refused before the call goes on.
        self._file = _WavFile(self.path, self.part_path, layout)
        self.completed: Future[Path] = Future()  # the final path once it is on disk
        self.samples = 0  # per channel, as written by the caller
        self._data_bytes = 0
        self._buffer = bytearray()
        self._since_checkpoint = 0
        self.closed = False

    @property
    def duration(self) -> float:
        return self.samples / ENGINE_RATE

    @property
    def error(self) -> RecorderError | None:
        """Why the file side failed (disk full, media removed), or None."""
        return self._file.error

    # -- writing --

    def write(self, frame: Frame | None) -> None:
        """Record one mono frame (None = silence). Only for single-channel recorders."""
        if self.channels != 1:
            raise RecorderError("a two-channel recorder takes write_stereo(caller, callee)")
        pcm = _pcm(frame)
        self._append(pcm, len(pcm))

    def write_stereo(self, left: Frame | None, right: Frame | None) -> None:
        """Record caller (left) and callee (right); a mono recorder records their mix."""
        if left is None and right is None:
            left = right = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        elif left is None:
            left = np.zeros_like(_pcm(right))
        elif right is None:
            right = np.zeros_like(_pcm(left))
        left, right = _pcm(left), _pcm(right)
        if len(left) != len(right):
            raise RecorderError(f"left has {len(left)} samples, right {len(right)}")
        if self.channels == 1:
            self._append(saturate(left.astype(np.int32) + right), len(left))
        else:
            interleaved = np.empty(2 * len(left), dtype=np.int16)
            interleaved[0::2] = left
            interleaved[1::2] = right
            self._append(interleaved, len(left))

    def _append(self, pcm: np.ndarray, samples: int) -> None:
        if self.closed:
            raise RecorderError(f"{self.path}: recording is closed")
        if self._file.error is not None:
            raise self._file.error
        try:
            data = self._encode(pcm)
        except CodecError as exc:
            raise RecorderError(f"{self.path}: cannot encode ({exc})") from exc
        self._put(data)
        self.samples += samples
        self._since_checkpoint += samples
        if self._since_checkpoint >= self._checkpoint_samples:
            self.checkpoint()

    def _put(self, data: bytes) -> None:
        self._buffer += data
        self._data_bytes += len(data)
        if len(self._buffer) >= _BUFFER_BYTES:
            self._hand_over_buffer()

    def _hand_over_buffer(self) -> None:
        if self._buffer:
            self._run(self._file.append, bytes(self._buffer))
            self._buffer.clear()

    def _run(self, operation: Callable[..., object], *args: object) -> None:
        if self.writer is None:
            operation(*args)
        else:
            self.writer.submit(operation, *args)

    def _encode_gsm(self, pcm: np.ndarray) -> bytes:
        pending = np.concatenate((self._pending, pcm)) if len(self._pending) else pcm
        whole = len(pending) - len(pending) % WAV49_BLOCK_SAMPLES
        self._pending = pending[whole:].copy()
        if not whole:
            return b""
        return gsm_frames_to_wav49(self._gsm.encode(np.ascontiguousarray(pending[:whole])))

    # -- header upkeep --

    def checkpoint(self) -> None:
        """Write what was recorded and make the header describe it (then fsync if `sync`)."""
        if self.closed:
            return
        self._since_checkpoint = 0
        self._hand_over_buffer()
        self._run(self._file.checkpoint, self._data_bytes, self.sync)

    def close(self) -> Path:
        """Complete the recording: header, fsync, rename to the final name. Returns that path.

        With a writer, the file reaches its final name a little later: wait on `completed`.
        """
        if self.closed:
            return self.path
        self.closed = True
        if self.format == "wav-gsm":
            if len(self._pending):
                pad = WAV49_BLOCK_SAMPLES - len(self._pending)
                # The last block is padded with silence; the fact chunk keeps whole blocks.
                self._put(self._encode_gsm(np.zeros(pad, dtype=np.int16)))
            self._gsm.close()
        self._hand_over_buffer()
        self._run(self._file.complete, self._data_bytes, self.completed)
        if self.writer is None and self._file.error is not None:
            raise self._file.error
        return self.path

    def discard(self) -> None:
        """Drop the recording: close and delete the temporary file."""
        if not self.closed:
            self.closed = True
            if self.format == "wav-gsm":
                self._gsm.close()
            self._run(self._file.abandon, True)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()  # keep what was recorded even when the call ended with an error


class _WavFile:
    """The file side of one recording: the `.part` file, its header, fsync, publication.

    Its methods run in the order the recorder issued them (inline or on one writer thread).
    The first failure is kept in `error`, closes the file (keeping what reached it, for the
    start-up repair) and turns every later call into a no-op.
    """

    def __init__(self, path: Path, part: Path, layout: _Layout) -> None:
        self.path = path
        self.part = part
        self.layout = layout
        self.error: RecorderError | None = None
        if path.exists():
            raise RecorderError(f"{path}: a recording of that name exists already")
        try:
            self._file = open(part, "xb")  # noqa: SIM115 - closed by complete()/abandon()
        except FileExistsError:
            raise RecorderError(f"{part}: another recording is writing it") from None
        except OSError as exc:
            raise RecorderError(f"{part}: cannot create ({exc.strerror})") from exc
        try:
            self._file.write(layout.header())
            self._file.flush()  # a crash right now still leaves a repairable header
        except OSError as exc:
            self.abandon(remove=True)
            raise RecorderError(f"{part}: cannot write ({exc.strerror})") from exc

    def append(self, data: bytes) -> None:
        if self.error is None:
            try:
                self._file.write(data)
            except OSError as exc:
                self._fail("cannot write", exc)

    def checkpoint(self, data_bytes: int, sync: bool) -> None:
        if self.error is None:
            try:
                self._patch_header(data_bytes)
                if sync:
                    os.fsync(self._file.fileno())
            except OSError as exc:
                self._fail("cannot write", exc)

    def complete(self, data_bytes: int, completed: Future[Path]) -> None:
        if self.error is None:
            try:
                if data_bytes & 1:
                    self._file.write(b"\0")  # RIFF pads odd chunks; the pad is not in the size
                self._patch_header(data_bytes)
                os.fsync(self._file.fileno())
                self._file.close()
                _publish(self.part, self.path)
            except OSError as exc:
                self._fail("cannot complete", exc)
            except RecorderError as exc:
                self.error = exc
        if self.error is None:
            completed.set_result(self.path)
        else:
            completed.set_exception(self.error)

    def abandon(self, remove: bool) -> None:
        try:
            self._file.close()
        except OSError:
            pass
        if remove:
            try:
                self.part.unlink()
            except FileNotFoundError:
                pass

    def _patch_header(self, data_bytes: int) -> None:
        self._file.flush()  # the audio first, so that the sizes never run ahead of it
        for offset, value in self.layout.sizes(data_bytes):
            os.pwrite(self._file.fileno(), value, offset)

    def _fail(self, what: str, exc: OSError) -> None:
        self.error = RecorderError(f"{self.part}: {what} ({exc.strerror})")
        self.abandon(remove=False)


class RecordingWriter:
    """One thread that does the file work of many recordings, in order, off the media tick.

    Operations of one recorder keep their order (one FIFO queue). A failed operation is
    logged; the recorder's `_WavFile` keeps the error for the engine to see.
    """

    def __init__(self, name: str = "recording-writer") -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._name = name
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, operation: Callable[..., object], *args: object) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    self._thread.start()
        self._queue.put((operation, args))

    @property
    def backlog(self) -> int:
        """Operations waiting: grows only when the storage cannot keep up."""
        return self._queue.qsize()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is done; False on timeout."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put((done.set, ()))
        return done.wait(timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        """Finish the queued work and stop the thread."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            operation, args = item
            try:
                operation(*args)
            except Exception:
                log.exception("recording writer: %s failed", getattr(operation, "__name__", "?"))


def _pcm(frame: Frame | None) -> np.ndarray:
    if frame is None:
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)
    frame = np.asarray(frame)
    if frame.ndim != 1 or frame.dtype != np.int16:
        raise RecorderError(f"a frame is 1-D int16 PCM, got {frame.dtype}{frame.shape}")
    return frame


def _encode_pcm16(pcm: np.ndarray) -> bytes:
    return pcm.astype("<i2", copy=False).tobytes()


def _publish(part: Path, final: Path) -> None:
    """Give a finished `.part` file its final name without overwriting anything."""
    try:
        os.link(part, final)  # fails if `final` exists: no recording is ever replaced
    except FileExistsError:
        raise RecorderError(f"{final}: appeared while recording; kept as {part}") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise RecorderError(f"{final}: cannot rename ({exc.strerror})") from exc
        if final.exists():  # no hard links (vfat USB storage): check, then rename
            raise RecorderError(f"{final}: appeared while recording; kept as {part}") from None
        os.rename(part, final)
    else:
        part.unlink()
    _sync_directory(final.parent)


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename is still done
    finally:
        os.close(fd)


# -- repair ----------------------------------------------------------------------------------


def repair(path: str | os.PathLike[str]) -> bool:
    """Make a WAV file cut short (crash, power loss) consistent again; True if it changed.

    The audio runs from the data chunk to the end of the file (our recorder writes no chunk
    after it). A trailing partial sample or GSM block is dropped, then the RIFF size, data
    size and fact sample count are set from what is left. Raises RecorderError when the file
    has no readable RIFF/WAVE, fmt and data header.
    """
    path = Path(path)
    try:
        with open(path, "r+b") as f:
            return _repair_open_file(f, path)
    except OSError as exc:
        raise RecorderError(f"{path}: cannot repair ({exc.strerror})") from exc


def _repair_open_file(f, path: Path) -> bool:
    file_size = os.fstat(f.fileno()).st_size
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise RecorderError(f"{path}: not a WAV file; cannot repair")
    block_align = block_samples = 0
    fact_offset = None
    pos = 12
    while True:
        f.seek(pos)
        chunk = f.read(8)
        if len(chunk) < 8:
            raise RecorderError(f"{path}: header cut before the data chunk; cannot repair")
        cid, size = struct.unpack("<4sI", chunk)
        body = pos + 8
        if cid == b"fmt ":
            fmt = f.read(min(size, 20))
            if len(fmt) < 16:
                raise RecorderError(f"{path}: fmt chunk cut short; cannot repair")
            tag, channels, _rate, _avg, block_align, _bits = struct.unpack("<HHIIHH", fmt[:16])
            block_samples = 1
            if tag == WAVE_FORMAT_GSM610:
                block_samples = (
                    struct.unpack("<H", fmt[18:20])[0] if len(fmt) >= 20 else WAV49_BLOCK_SAMPLES
                )
            if block_align == 0 or channels == 0:
                raise RecorderError(f"{path}: fmt chunk has no block size; cannot repair")
        elif cid == b"fact" and size >= 4:
            fact_offset = body
        elif cid == b"data":
            break
        pos = body + size + (size & 1)
    if not block_align:
        raise RecorderError(f"{path}: no fmt chunk before the data; cannot repair")

    data_size = (file_size - body) // block_align * block_align
    end = body + data_size + (data_size & 1)
    patches = [(4, struct.pack("<I", end - 8)), (body - 4, struct.pack("<I", data_size))]
    if fact_offset is not None:
        samples = data_size // block_align * block_samples
        patches.append((fact_offset, struct.pack("<I", samples)))
    changed = end != file_size
    for offset, value in patches:
        f.seek(offset)
        if f.read(len(value)) != value:
            changed = True
    if not changed:
        return False
    if end < file_size:
        f.truncate(body + data_size)
    if data_size & 1:
        f.seek(body + data_size)
        f.write(b"\0")
    for offset, value in patches:
        f.seek(offset)
        f.write(value)
    f.flush()
    os.fsync(f.fileno())
    return True


@dataclass(frozen=True)
class RecoveredRecording:
    path: Path  # where the recording is now
    repaired: bool  # its sizes had to be fixed
    error: str | None = None  # why it was left as a .part file


def repair_directory(directory: str | os.PathLike[str]) -> list[RecoveredRecording]:
    """Start-up recovery: repair and publish every `.part` recording under `directory`.

    Call it before any recorder runs (a live recorder's `.part` file would be taken too).
    A file that cannot be repaired stays as it is and is reported with the reason.
    """
    results = []
    for part in sorted(Path(directory).rglob("*" + PART_SUFFIX)):
        if not part.is_file():
            continue
        final = part.with_name(part.name[: -len(PART_SUFFIX)])
        try:
            repaired = repair(part)
            if final.exists():
                if os.path.samefile(part, final):  # crashed between link and unlink
                    part.unlink()
                    results.append(RecoveredRecording(final, repaired))
                    continue
                final = _free_name(final)
            _publish(part, final)
        except RecorderError as exc:
            log.warning("recording %s left unrepaired: %s", part, exc)
            results.append(RecoveredRecording(part, False, str(exc)))
            continue
        log.info("recording %s recovered%s", final, " (repaired)" if repaired else "")
        results.append(RecoveredRecording(final, repaired))
    return results


def _free_name(final: Path) -> Path:
    for n in range(1, 1000):
        candidate = final.with_name(f"{final.stem}.recovered-{n}{final.suffix}")
        if not candidate.exists():
            return candidate
    raise RecorderError(f"{final}: no free name for the recovered recording")
