"""cffi ABI-mode bindings to Debian's telephony libraries: libspandsp2 and libgsm1.

No compiler and no -dev package is needed: each library gets its own FFI with a hand-written
cdef of the few functions used, then `ffi.dlopen` by soname (so the same code loads the arm64
library on the appliance and the x86_64 one on a developer's machine). Libraries load lazily,
on first use, and a missing one raises `NativeLibraryError` naming the Debian package.

C state is opaque here: every `*_init`/`*_create` is called with NULL so that the library
allocates, and the matching `*_free`/`*_destroy` releases it. Each state lives in a small
Python class whose `close()` is idempotent and also runs from `__del__`.
"""

from __future__ import annotations

import numpy as np
from cffi import FFI  # type: ignore[import-untyped]


class NativeLibraryError(RuntimeError):
    """A native library pbxd's media engine needs is not installed or lacks a symbol."""


# Written from spandsp 0.0.6's documented API (g722.h, plc.h, dtmf.h). The state structs stay
# opaque. In 0.0.6 `dtmf_rx_parms` takes ints (dB / dBm0), not floats as later versions.
_SPANDSP_CDEF = """
typedef void (*digits_rx_callback_t)(void *user_data, const char *digits, int len);
void *dtmf_rx_init(void *s, digits_rx_callback_t callback, void *user_data);
void dtmf_rx_parms(void *s, int filter_dialtone, int twist, int reverse_twist, int threshold);
int dtmf_rx(void *s, const int16_t amp[], int samples);
size_t dtmf_rx_get(void *s, char *digits, int max);
int dtmf_rx_free(void *s);
void *g722_encode_init(void *s, int rate, int options);
int g722_encode_free(void *s);
int g722_encode(void *s, uint8_t g722_data[], const int16_t amp[], int len);
void *g722_decode_init(void *s, int rate, int options);
int g722_decode_free(void *s);
int g722_decode(void *s, int16_t amp[], const uint8_t g722_data[], int len);
void *plc_init(void *s);
int plc_free(void *s);
int plc_rx(void *s, int16_t amp[], int len);
int plc_fillin(void *s, int16_t amp[], int len);
"""

# Written from libgsm's gsm.h: `gsm` is a pointer to an opaque struct, gsm_signal is short,
# gsm_byte is unsigned char, one frame is 33 bytes <-> 160 samples.
_GSM_CDEF = """
void *gsm_create(void);
void gsm_destroy(void *g);
int gsm_option(void *g, int opt, int *val);
void gsm_encode(void *g, short *source, unsigned char *c);
int gsm_decode(void *g, unsigned char *c, short *target);
"""


class _Library:
    """One shared library, its own FFI, loaded on first use."""

    def __init__(self, soname: str, package: str, cdef: str) -> None:
        self.soname = soname
        self.package = package
        self.ffi = FFI()
        self.ffi.cdef(cdef)
        self._lib = None

    def load(self):
        if self._lib is None:
            try:
                lib = self.ffi.dlopen(self.soname)
            except OSError as exc:
                raise NativeLibraryError(
                    f"cannot load {self.soname} ({exc}); install the Debian package "
                    f"{self.package} (apt-get install {self.package})"
                ) from exc
            self._lib = lib
        return self._lib

    def available(self) -> bool:
        try:
            self.load()
        except NativeLibraryError:
            return False
        return True


_SPANDSP = _Library("libspandsp.so.2", "libspandsp2", _SPANDSP_CDEF)
_GSM = _Library("libgsm.so.1", "libgsm1", _GSM_CDEF)


def spandsp():
    """The loaded libspandsp (raises NativeLibraryError naming libspandsp2 when missing)."""
    return _SPANDSP.load()


def gsm():
    """The loaded libgsm (raises NativeLibraryError naming libgsm1 when missing)."""
    return _GSM.load()


def spandsp_ffi():
    """The FFI of libspandsp (for buffers and `ffi.gc`)."""
    return _SPANDSP.ffi


def spandsp_available() -> bool:
    return _SPANDSP.available()


def gsm_available() -> bool:
    return _GSM.available()


def _as_int16(pcm: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(pcm, dtype=np.int16)


class _NativeState:
    """Owns one library-allocated state pointer; frees it exactly once."""

    _library: _Library
    _ptr = None

    def _adopt(self, ptr, what: str) -> None:
        if ptr == self._library.ffi.NULL:
            raise MemoryError(f"{what} returned NULL")
        self._ptr = ptr

    def _state(self):
        if self._ptr is None:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._ptr

    def _release(self, ptr) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._release(ptr)

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser (interpreter exit)
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# G.722 (spandsp g722.h). rate is the bit rate: 64000, 56000 or 48000. options 0 means
# 16 kHz linear audio and unpacked octets (one octet per pair of 16 kHz samples).
G722_RATE_64K = 64000


class G722Encoder(_NativeState):
    _library = _SPANDSP

    def __init__(self, bit_rate: int = G722_RATE_64K, options: int = 0) -> None:
        lib = spandsp()
        self._lib = lib
        self._adopt(
            lib.g722_encode_init(self._library.ffi.NULL, bit_rate, options), "g722_encode_init"
        )

    def _release(self, ptr) -> None:
        self._lib.g722_encode_free(ptr)

    def encode(self, pcm: np.ndarray) -> bytes:
        """Even number of 16 kHz samples -> one octet per two samples."""
        pcm = _as_int16(pcm)
        if len(pcm) % 2:
            # spandsp reads samples in pairs: an odd count would read past the buffer.
            raise ValueError("G.722 needs an even number of 16 kHz samples")
        ffi = self._library.ffi
        out = ffi.new("uint8_t[]", max(len(pcm) // 2, 1))
        n = self._lib.g722_encode(self._state(), out, ffi.from_buffer("int16_t[]", pcm), len(pcm))
        return ffi.buffer(out, n)[:]


class G722Decoder(_NativeState):
    _library = _SPANDSP

    def __init__(self, bit_rate: int = G722_RATE_64K, options: int = 0) -> None:
        lib = spandsp()
        self._lib = lib
        self._adopt(
            lib.g722_decode_init(self._library.ffi.NULL, bit_rate, options), "g722_decode_init"
        )

    def _release(self, ptr) -> None:
        self._lib.g722_decode_free(ptr)

    def decode(self, payload: bytes) -> np.ndarray:
        """Octets -> two 16 kHz samples per octet."""
        ffi = self._library.ffi
        out = np.empty(2 * len(payload), dtype=np.int16)
        if not payload:
            return out
        n = self._lib.g722_decode(
            self._state(),
            ffi.from_buffer("int16_t[]", out, require_writable=True),
            ffi.from_buffer("uint8_t[]", payload),
            len(payload),
        )
        return out[:n]


# GSM 06.10 full rate (libgsm gsm.h).
GSM_FRAME_BYTES = 33
GSM_FRAME_SAMPLES = 160
GSM_MAGIC = 0xD  # high nibble of every RFC 3551 / libgsm frame


class GsmCodecState(_NativeState):
    """One libgsm state; use separate instances for the encoding and decoding directions."""

    _library = _GSM

    def __init__(self) -> None:
        lib = gsm()
        self._lib = lib
        self._adopt(lib.gsm_create(), "gsm_create")

    def _release(self, ptr) -> None:
        self._lib.gsm_destroy(ptr)

    def encode(self, pcm: np.ndarray) -> bytes:
        """A multiple of 160 samples at 8 kHz -> 33 bytes per 160 samples."""
        pcm = _as_int16(pcm)
        if len(pcm) % GSM_FRAME_SAMPLES:
            raise ValueError("GSM needs a multiple of 160 samples")
        ffi = self._library.ffi
        state = self._state()
        frames = len(pcm) // GSM_FRAME_SAMPLES
        # Copied into a private buffer: gsm_encode's source parameter is not const.
        source = ffi.new("short[]", GSM_FRAME_SAMPLES)
        out = ffi.new("unsigned char[]", max(frames, 1) * GSM_FRAME_BYTES)
        src_view = np.frombuffer(ffi.buffer(source), dtype=np.int16)
        for i in range(frames):
            src_view[:] = pcm[i * GSM_FRAME_SAMPLES : (i + 1) * GSM_FRAME_SAMPLES]
            self._lib.gsm_encode(state, source, out + i * GSM_FRAME_BYTES)
        return ffi.buffer(out, frames * GSM_FRAME_BYTES)[:]

    def decode(self, payload: bytes) -> np.ndarray:
        """33 bytes per frame -> 160 samples per frame; ValueError on a bad length or magic."""
        if len(payload) % GSM_FRAME_BYTES:
            raise ValueError(f"GSM payload of {len(payload)} bytes is not a multiple of 33")
        ffi = self._library.ffi
        state = self._state()
        frames = len(payload) // GSM_FRAME_BYTES
        out = np.empty(frames * GSM_FRAME_SAMPLES, dtype=np.int16)
        if not frames:
            return out
        # A private copy: gsm_decode's frame parameter is not const either.
        src = ffi.new("unsigned char[]", payload)
        dst = ffi.from_buffer("short[]", out, require_writable=True)
        for i in range(frames):
            if (
                self._lib.gsm_decode(state, src + i * GSM_FRAME_BYTES, dst + i * GSM_FRAME_SAMPLES)
                != 0
            ):
                raise ValueError(f"GSM frame {i} lacks the 0xD signature nibble")
        return out


class SpandspPlc(_NativeState):
    """spandsp's packet loss concealment (plc.h), designed for 8 kHz audio."""

    _library = _SPANDSP

    def __init__(self) -> None:
        lib = spandsp()
        self._lib = lib
        self._adopt(lib.plc_init(self._library.ffi.NULL), "plc_init")

    def _release(self, ptr) -> None:
        self._lib.plc_free(ptr)

    def rx(self, pcm: np.ndarray) -> np.ndarray:
        """Feed good audio; returns it, its start smoothed into a preceding concealment."""
        out = np.array(pcm, dtype=np.int16, copy=True)
        if len(out):
            ffi = self._library.ffi
            self._lib.plc_rx(
                self._state(), ffi.from_buffer("int16_t[]", out, require_writable=True), len(out)
            )
        return out

    def fillin(self, samples: int) -> np.ndarray:
        """Synthesise `samples` of concealment audio for a lost stretch."""
        out = np.zeros(samples, dtype=np.int16)
        if samples:
            ffi = self._library.ffi
            self._lib.plc_fillin(
                self._state(), ffi.from_buffer("int16_t[]", out, require_writable=True), samples
            )
        return out
