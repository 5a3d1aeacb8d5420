"""Recording policy per extension: 7001 records what it calls out (outbound), not what it is
called. Two pjsua2 phones: 7001 sends 440 Hz, 7002 1000 Hz; the recording of the call from
7001 is in the API, two channels (caller left, callee right); the call back is not recorded."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from .audio import peak_frequency, write_tone
from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones

pytestmark = pytest.mark.peer

TOLERANCE_HZ = 15.0


def call(phones: dict[str, PjsuaPhone], caller: str, callee: str) -> None:
    for phone in phones.values():
        phone.forget_events()  # the events of the call before
    phones[caller].call(callee)
    phones[caller].wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
    phones[caller].wait_for("call_ended", timeout=15)
    phones[callee].wait_for("call_ended", timeout=10)


def test_outbound_policy_records_the_calls_the_extension_makes(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    pbxd.create_extension("7001", "Secret-7001")
    pbxd.create_extension("7002", "Secret-7002")
    assert pbxd.api("PUT", "/api/v1/extensions/7001", {"recording": "outbound"})["recording"] \
        == "outbound"  # fmt: skip
    phones = {
        number: PjsuaPhone(
            number, f"Secret-{number}", registrar=pbxd.sip_address, log_dir=tmp_path,
            play=write_tone(tmp_path / f"{tone}.wav", tone, 2.0), hangup_after=4.0,
            ring_seconds=0.3,
        )
        for number, tone in (("7001", 440), ("7002", 1000))
    }  # fmt: skip
    try:
        for phone in phones.values():
            phone.start()
            phone.wait_registered()
        call(phones, "7001", "7002")
        call(phones, "7002", "7001")
    finally:
        stop_phones(*phones.values())

    pbxd.wait_cdr(lambda r: r["caller"] == "7002", timeout=10)
    items = pbxd.api("GET", "/api/v1/recordings?party=7001")["items"]
    assert [(r["caller"], r["callee"]) for r in items] == [("7001", "7002")], items
    wav = pbxd.download(f"/api/v1/recordings/{items[0]['id']}/audio", tmp_path / "call.wav")
    with wave.open(str(wav), "rb") as src:
        rate, frames = src.getframerate(), src.readframes(src.getnframes())
    stereo = np.frombuffer(frames, dtype="<i2").reshape(-1, 2).astype(float)
    assert stereo.shape[0] > 2 * rate
    assert abs(peak_frequency(stereo[rate:, 0], rate) - 440) < TOLERANCE_HZ
    assert abs(peak_frequency(stereo[rate:, 1], rate) - 1000) < TOLERANCE_HZ
