"""Ring groups, conference rooms, queue overflow and agents' feature codes with real phones."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from .audio import peak_frequency, read_samples, write_tone
from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones

pytestmark = pytest.mark.peer

TOLERANCE_HZ = 15.0


def make_phone(pbxd: PbxdProcess, tmp_path: Path, number: str, tone: float, **options):
    pbxd.create_extension(number, f"Secret-{number}")
    return PjsuaPhone(
        number,
        f"Secret-{number}",
        registrar=pbxd.sip_address,
        play=write_tone(tmp_path / f"{int(tone)}.wav", tone, 2.0),
        record=tmp_path / f"{number}-heard.wav",
        log_dir=tmp_path,
        **options,
    )


def heard(tmp_path: Path, number: str, skip: float = 1.0) -> float:
    samples, rate = read_samples(tmp_path / f"{number}-heard.wav")
    return peak_frequency(samples[int(skip * rate) :], rate)


def test_ring_group_in_order_skips_the_member_who_declines(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    caller = make_phone(pbxd, tmp_path, "4001", 440, hangup_after=3.0)
    busy = make_phone(pbxd, tmp_path, "4101", 700, answer_code=486)
    answers = make_phone(pbxd, tmp_path, "4102", 1000, ring_seconds=0.5)
    pbxd.api(
        "POST",
        "/api/v1/ring-groups",
        {"number": "700", "strategy": "order", "members": ["4101", "4102"], "timeout": 10},
        expect=201,
    )
    phones = (caller, busy, answers)
    try:
        for phone in phones:
            phone.start()
            phone.wait_registered()
        caller.call("700")
        busy.wait_for("incoming_call", timeout=10)
        answers.wait_for("incoming_call", timeout=10)
        caller.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        caller.wait_for("call_ended", timeout=15)
    finally:
        stop_phones(*phones)
    assert abs(heard(tmp_path, "4001") - 1000) < TOLERANCE_HZ
    assert abs(heard(tmp_path, "4102") - 440) < TOLERANCE_HZ


def test_three_callers_in_a_conference_room_with_a_pin_hear_each_other(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    tones = {"4201": 500.0, "4202": 900.0, "4203": 1300.0}
    phones = [make_phone(pbxd, tmp_path, n, f, hangup_after=9.0) for n, f in tones.items()]
    pbxd.api("POST", "/api/v1/conferences", {"number": "800", "pin": "2468"}, expect=201)
    try:
        for phone in phones:
            phone.start()
            phone.wait_registered()
        for phone in phones:
            phone.call("800")
            phone.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
            time.sleep(0.5)
            phone.dtmf("2468#")
        for phone in phones:
            phone.wait_for("call_ended", timeout=20)
    finally:
        stop_phones(*phones)
    for number, own in tones.items():
        samples, rate = read_samples(tmp_path / f"{number}-heard.wav")
        tail = samples[-2 * rate :]  # all three in the room by then
        spectrum = np.abs(np.fft.rfft(tail * np.hanning(tail.size)))
        level = {f: spectrum[int(f * tail.size / rate)] for f in tones.values()}
        others = [level[f] for n, f in tones.items() if n != number]
        assert min(others) > 20 * level[own], (number, level)  # mix-minus: not himself


def test_queue_without_answer_overflows_at_max_wait(pbxd: PbxdProcess, tmp_path: Path) -> None:
    caller = make_phone(pbxd, tmp_path, "4301", 440, hangup_after=20.0)
    idle = make_phone(pbxd, tmp_path, "4302", 700, answer_code=0)  # rings, never answers
    backup = make_phone(pbxd, tmp_path, "4303", 1000, ring_seconds=0.5)
    pbxd.api(
        "POST",
        "/api/v1/queues",
        {
            "number": "602",
            "members": [{"extension": "4302", "penalty": 0}],
            "timeout": 3,
            "retry": 1,
            "max_wait": 6,
            "overflow": "extension:4303",
        },
        expect=201,
    )
    phones = (caller, idle, backup)
    try:
        for phone in phones:
            phone.start()
            phone.wait_registered()
        caller.call("602")
        idle.wait_for("incoming_call", timeout=10)
        backup.wait_for("incoming_call", timeout=15)
        backup.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        time.sleep(2.0)
        caller.hangup()
        caller.wait_for("call_ended", timeout=10)
    finally:
        stop_phones(*phones)
    assert abs(heard(tmp_path, "4303", skip=0.5) - 440) < TOLERANCE_HZ
    events = pbxd.api("GET", "/api/v1/queue-events?queue=602")["items"]
    names = [e["event"] for e in events]
    assert "EXIT_TIMEOUT" in names and "TRANSFER_OVERFLOW" in names, names
    # the call's row covers it to the end: max wait 6 s, then the backup's 2 s and more
    row = pbxd.wait_cdr(lambda r: r["caller"] == "4301" and r["callee"] == "602", timeout=10)
    assert row["duration"] >= 8 and row["disposition"] == "NO ANSWER", row


def test_agent_logs_in_and_pauses_from_the_phone(pbxd: PbxdProcess, tmp_path: Path) -> None:
    agent = make_phone(pbxd, tmp_path, "4401", 440, hangup_after=6.0)
    pbxd.api("POST", "/api/v1/queues", {"number": "603"}, expect=201)
    try:
        agent.start()
        agent.wait_registered()
        for code in ("*45", "*46"):
            agent.call(code)
            agent.wait_for("call_ended", timeout=15)
            agent.forget_events()
    finally:
        stop_phones(agent)
    state = pbxd.api("GET", "/api/v1/agents/4401")
    # *45 alone logs in to every queue (602 of the test before is one too)
    assert "603" in [q["queue"] for q in state["queues"]], state
    assert state["paused"] is True, state


def test_a_moderated_room_waits_for_its_moderator_and_ends_with_him(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    member = make_phone(pbxd, tmp_path, "4501", 500.0, hangup_after=30.0)
    moderator = make_phone(pbxd, tmp_path, "4502", 900.0, hangup_after=6.0)
    pbxd.api("POST", "/api/v1/conferences", {"number": "801", "moderator_pin": "9999"},
             expect=201)  # fmt: skip
    try:
        for phone in (member, moderator):
            phone.start()
            phone.wait_registered()
        member.call("801")
        member.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        time.sleep(0.5)
        member.dtmf("#")  # no PIN of his own: a member
        time.sleep(3.0)  # music on hold until the moderator comes
        moderator.call("801")
        moderator.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        time.sleep(0.5)
        moderator.dtmf("9999#")
        moderator.wait_for("call_ended", timeout=20)
        ended = member.wait_for("call_ended", timeout=10)  # closed with the moderator
    finally:
        stop_phones(member, moderator)
    assert ended["measured_seconds"] < 25, ended  # not his own 30 s hang-up
    assert abs(heard(tmp_path, "4502", skip=3.0) - 500) < TOLERANCE_HZ
