"""An agent controls his customer call with real pjsua2 phones (issue 7): hold, mute,
consultation (咨询转移) completed or cancelled, three-way call, blind transfer answered,
refused (the caller goes back to the queue) and to another queue's agent.

Queue 600 (ring all, recorded, 2 s wrap-up) has agent A (3101); B (3102) is an agent of queue
601. The customer (3001) sends 440 Hz, A 1000 Hz, B 700 Hz; 3103 refuses every call (busy).
Each phone records what it hears; each phase is cut out of those recordings on the wall
clock the phones and the test share: a tone is present when its amplitude stands out in the
spectrum, absent when nothing is left of it, and the music on hold is "something that is none
of the tones". The agent acts through the API with his own login (a supervisor or an admin
may too). What a user would check besides: the agent page's state (/agents/3101/call), the
agents' states, the CDR legs of A and B with their own times, the queue log's TRANSFER rows,
one recording for the whole call.
"""

from __future__ import annotations

import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .audio import read_samples, write_tone
from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones
from .queue_story import create_queue, is_state, phone, queue_events, start, wait_until
from .test_supervisor_monitor import level, login, user_call

pytestmark = pytest.mark.peer

CUSTOMER_HZ, A_HZ, B_HZ = 440.0, 1000.0, 700.0
TONES = {"3001": CUSTOMER_HZ, "3101": A_HZ, "3102": B_HZ, "3103": 550.0}
AMPLITUDE = 0.25
PRESENT = 0.06  # amplitude (full scale 1.0) of a tone that is heard
ABSENT = 0.012  # a tone weaker than this is not heard
MUSIC_RMS = 0.02  # the music on hold is louder than this; silence far below
SILENCE_RMS = 0.005
PHASE = 3.0  # seconds of each phase
MARGIN = 0.8  # seconds cut off the start of a phase (jitter buffers, the switch)
PASSWORD = "Agent-Pass-4711"


class Ear:
    """What one phone heard in its latest call (its recorder starts again with each call's
    media), cut by wall-clock time."""

    def __init__(self, phone: PjsuaPhone, path: Path):
        self.phone = phone
        self.path = path

    def levels(self, start: float, end: float) -> dict[str, float]:
        active = self.phone.seen("media_active")[-1]
        samples, rate = read_samples(self.path)
        first, last = (int((t - active["wall"]) * rate) for t in (start + MARGIN, end - 0.3))
        assert 0 <= first < last <= samples.size, (self.phone.user, start, end, samples.size)
        part = samples[first:last]
        heard = {str(int(hz)): round(level(part, rate, hz), 3) for hz in (440, 700, 1000)}
        heard["rms"] = round(float(np.sqrt(np.mean(part**2))), 4)
        return heard


def hears(levels: dict[str, float], *tones: float, music: bool = False) -> bool:
    """Exactly `tones` stand out of the three (music: none of them, but sound)."""
    for hz in (440, 700, 1000):
        if hz == 440 and music:
            continue  # the music on hold has a little of it
        if (levels[str(hz)] > PRESENT) != (hz in tones) or (
            hz not in tones and levels[str(hz)] > ABSENT
        ):
            return False
    if music:
        return levels["rms"] > MUSIC_RMS
    return bool(tones) or levels["rms"] < SILENCE_RMS


@pytest.fixture(scope="module")
def center(pbxd: PbxdProcess) -> dict[str, str]:
    for number in TONES:
        pbxd.create_extension(number, f"Secret-{number}")
    pbxd.create_extension("3104", "Secret-3104")  # never registered
    create_queue(pbxd, "600", "ringall", ["3101"], timeout=15, recording="all", wrapup=2)
    create_queue(pbxd, "601", "ringall", ["3102"], timeout=15)
    pbxd.api("POST", "/api/v1/users", {"username": "agent-a", "role": "agent",
             "password": PASSWORD, "extension": "3101"}, expect=201)  # fmt: skip
    return {"agent-a": login(pbxd, "agent-a", PASSWORD)}


def phones(pbxd: PbxdProcess, tmp_path: Path, *numbers: str, **options: Any) -> list[PjsuaPhone]:
    made = []
    for number in numbers:
        tone = write_tone(tmp_path / f"{number}.wav", TONES[number], 4.0, amplitude=AMPLITUDE)
        heard = tmp_path / f"{number}-heard.wav"
        extra = {"ring_seconds": 0.5, **options.get(number, {})}
        made.append(phone(pbxd, tmp_path, number, create=False, play=tone, record=heard, **extra))
    return made


def ears(tmp_path: Path, *phones_: PjsuaPhone) -> dict[str, Ear]:
    return {p.user: Ear(p, tmp_path / f"{p.user}-heard.wav") for p in phones_}


def agent_state(pbxd: PbxdProcess, extension: str) -> str:
    return pbxd.api("GET", f"/api/v1/agents/{extension}")["state"]


def connect_queue_call(pbxd: PbxdProcess, caller: PjsuaPhone, agent: PjsuaPhone) -> None:
    caller.call("600")
    caller.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
    agent.wait_for("media_active", timeout=15)
    wait_until("A on the call", lambda: agent_state(pbxd, "3101") == "on_call")
    time.sleep(1.0)  # the bridge takes over from the queue


def control(pbxd: PbxdProcess, token: str, action: str, body: Any = None, agent: str = "3101"):
    """POST a call control as the user of `token`; the call state it answers with."""
    status, answer = user_call(pbxd, token, "POST", f"/api/v1/agents/{agent}/call/{action}",
                               body)  # fmt: skip
    assert status == 200, (action, status, answer)
    return answer["call"]


def phase(seconds: float = PHASE) -> tuple[float, float]:
    began = time.time()
    time.sleep(seconds)
    return began, time.time()


def call_story(pbxd: PbxdProcess) -> tuple[dict, list[dict], list[tuple[str, str | None]]]:
    """The CDR row of the customer's (last) call to queue 600, its legs, its queue-log story."""
    row = pbxd.wait_cdr(lambda r: r["caller"] == "3001" and r["callee"] == "600", timeout=10)
    legs = pbxd.api("GET", f"/api/v1/cdr/{row['call_id']}/legs")["items"]
    events = queue_events(pbxd, call_id=row["call_id"])
    return row, legs, [(e["event"], e["agent"]) for e in events]


def test_hold_mute_consult_and_complete(
    pbxd: PbxdProcess, center: dict[str, str], tmp_path: Path
) -> None:
    token = center["agent-a"]
    customer, a, b = phones(pbxd, tmp_path, "3001", "3101", "3102", **{"3102": {
        "ring_seconds": 1.0}})  # fmt: skip
    heard = ears(tmp_path, customer, a, b)
    phases: dict[str, tuple[float, float]] = {}
    try:
        start(customer, a, b)
        status, body = user_call(pbxd, token, "GET", "/api/v1/agents/3101/call")
        assert (status, body) == (200, {"agent": "3101", "call": None})
        connect_queue_call(pbxd, customer, a)
        phases["talk"] = phase()

        call = control(pbxd, token, "hold")
        assert (call["held"], call["phase"]) == (True, "talking"), call
        phases["hold"] = phase()
        assert not control(pbxd, token, "resume")["held"]
        phases["resumed"] = phase()
        assert control(pbxd, token, "mute")["muted"]
        phases["mute"] = phase()
        assert not control(pbxd, token, "unmute")["muted"]

        call = control(pbxd, token, "consult", {"to": "3102"})
        assert (call["phase"], call["held"], call["consultation"]["state"]) == (
            "consulting", True, "ringing",
        )  # fmt: skip
        rung = b.wait_for("incoming_call", timeout=10)
        assert "3101" in rung["remote_uri"], rung  # B's phone shows the agent's number
        b.wait_for("media_active", timeout=10)

        def consulted() -> dict | None:
            call = user_call(pbxd, token, "GET", "/api/v1/agents/3101/call")[1]["call"]
            return call if call["consultation"]["state"] == "connected" else None

        wait_until("B on the consultation", consulted, timeout=5)
        assert agent_state(pbxd, "3102") == "on_call"  # no queue call offered to him now
        phases["consult"] = phase()

        assert control(pbxd, token, "consult/complete") is None  # A is off the call
        assert agent_state(pbxd, "3101") == "wrapup"
        a.wait_for("call_ended", timeout=5)
        assert a.seen("request", where=lambda e: e["method"] == "BYE")  # pbxd hung A up
        status, body = user_call(pbxd, token, "GET", "/api/v1/agents/3101/call")
        assert (status, body["call"]) == (200, None)
        [live] = pbxd.api("GET", "/api/v1/calls/live")["items"]
        assert (live["agent"], live["phase"], live["held"]) == ("3102", "talking", False)
        phases["completed"] = phase()
        customer.hangup()
        b.wait_for("call_ended", timeout=5)
    finally:
        stop_phones(customer, a, b)

    expected = {  # who hears what in each phase
        "talk": {"3001": [A_HZ], "3101": [CUSTOMER_HZ]},
        "hold": {"3001": "music", "3101": []},
        "resumed": {"3001": [A_HZ], "3101": [CUSTOMER_HZ]},
        "mute": {"3001": [], "3101": [CUSTOMER_HZ]},
        "consult": {"3001": "music", "3101": [B_HZ], "3102": [A_HZ]},
        "completed": {"3001": [B_HZ], "3102": [CUSTOMER_HZ]},
    }
    for name, wanted in expected.items():
        for who, tones in wanted.items():
            levels = heard[who].levels(*phases[name])
            if tones == "music":
                assert hears(levels, music=True), (name, who, levels)
            else:
                assert hears(levels, *tones), (name, who, levels)

    row, legs, story = call_story(pbxd)
    assert (row["disposition"], row["hangup_side"]) == ("ANSWERED", "caller"), row
    by_party = {leg["party"]: leg for leg in legs}
    assert set(by_party) == {"3001", "3101", "3102"}, legs
    assert (by_party["3101"]["disposition"], by_party["3101"]["hangup_side"]) == (
        "ANSWERED", "callee",  # he handed the caller on
    )  # fmt: skip
    assert by_party["3102"]["disposition"] == "ANSWERED"
    # Each agent leg has its own times: B was rung while A talked, A left before the end.
    assert by_party["3101"]["answer"] < by_party["3102"]["start"] < by_party["3101"]["end"]
    assert by_party["3101"]["end"] < by_party["3102"]["end"]
    assert [s for s in story if s[0] in ("CONNECT", "TRANSFER") or s[0].startswith("COMPLETE")] == [
        ("CONNECT", "3101"), ("TRANSFER", "3101"), ("COMPLETE_CALLER", "3102"),
    ]  # fmt: skip
    events = queue_events(pbxd, call_id=row["call_id"], event="TRANSFER")
    assert events[0]["data"]["data"].startswith("attended|extension:3102|"), events

    # One recording for the whole call: customer left; A, then A and B, then B right.
    [recording] = pbxd.api("GET", "/api/v1/recordings?queue=600")["items"]
    wav = pbxd.download(f"/api/v1/recordings/{recording['id']}/audio", tmp_path / "call.wav")
    with wave.open(str(wav), "rb") as src:
        rate, frames = src.getframerate(), src.readframes(src.getnframes())
    stereo = np.frombuffer(frames, dtype="<i2").reshape(-1, 2).astype(float) / 32768
    first, last = stereo[rate : 3 * rate], stereo[-3 * rate : -rate]
    assert level(first[:, 1], rate, A_HZ) > PRESENT and level(first[:, 1], rate, B_HZ) < ABSENT
    assert level(last[:, 1], rate, B_HZ) > PRESENT and level(last[:, 1], rate, A_HZ) < ABSENT
    assert level(last[:, 0], rate, CUSTOMER_HZ) > PRESENT


def test_consult_cancelled_then_three_way_and_the_agent_leaves(
    pbxd: PbxdProcess, center: dict[str, str], tmp_path: Path
) -> None:
    token = center["agent-a"]
    customer, a, b = phones(pbxd, tmp_path, "3001", "3101", "3102")
    heard = ears(tmp_path, customer, a, b)
    phases: dict[str, tuple[float, float]] = {}
    try:
        start(customer, a, b)
        connect_queue_call(pbxd, customer, a)
        control(pbxd, token, "consult", {"to": "3102"})
        b.wait_for("media_active", timeout=10)
        # complete needs an answer; cancel brings the customer back
        call = control(pbxd, token, "consult/cancel")
        assert (call["phase"], call["held"], call["consultation"]) == ("talking", False, None)
        b.wait_for("call_ended", timeout=5)
        wait_until("B free again", lambda: agent_state(pbxd, "3102") == "idle")
        phases["cancelled"] = phase()
        status, body = user_call(pbxd, token, "POST", "/api/v1/agents/3101/call/consult/complete")
        assert (status, body["error"]["code"]) == (409, "call_state"), body

        control(pbxd, token, "consult", {"to": "3102"})
        wait_until("B answers again", lambda: len(b.seen("media_active")) == 2)
        wait_until("B connected", lambda: user_call(pbxd, token, "GET", "/api/v1/agents/3101/call")
                   [1]["call"]["consultation"]["state"] == "connected")  # fmt: skip
        call = control(pbxd, token, "conference")
        assert (call["phase"], call["held"]) == ("conference", False)
        phases["three"] = phase()
        a.hangup()  # the agent leaves: customer and B stay connected
        a.wait_for("call_ended", timeout=5)
        wait_until("B has the call", lambda: [c["agent"] for c in pbxd.api(
            "GET", "/api/v1/calls/live")["items"]] == ["3102"])  # fmt: skip
        phases["two"] = phase()
        assert not customer.seen("call_ended") and not b.seen("call_ended")[1:]
        b.hangup()  # B hangs up: the call is over
        customer.wait_for("call_ended", timeout=5)
    finally:
        stop_phones(customer, a, b)

    cancelled = {who: heard[who].levels(*phases["cancelled"]) for who in ("3001",)}
    assert hears(cancelled["3001"], A_HZ), cancelled
    three = {who: ear.levels(*phases["three"]) for who, ear in heard.items()}
    assert hears(three["3001"], A_HZ, B_HZ), three
    assert hears(three["3102"], A_HZ, CUSTOMER_HZ), three
    two = {who: heard[who].levels(*phases["two"]) for who in ("3001", "3102")}
    assert hears(two["3001"], B_HZ) and hears(two["3102"], CUSTOMER_HZ), two

    row, legs, story = call_story(pbxd)
    assert row["hangup_side"] == "callee", row  # B, the agent at the end, hung up
    # B's two legs (the cancelled consultation, then the one that took the call) and A's
    assert sorted((leg["party"], leg["disposition"]) for leg in legs) == [
        ("3001", "ANSWERED"), ("3101", "ANSWERED"), ("3102", "ANSWERED"), ("3102", "ANSWERED"),
    ]  # fmt: skip
    assert ("TRANSFER", "3101") in story and ("COMPLETE_AGENT", "3102") in story, story


def test_blind_transfers_answered_then_refused_back_to_the_queue(
    pbxd: PbxdProcess, center: dict[str, str], tmp_path: Path
) -> None:
    token = center["agent-a"]
    customer, a, b, busy = phones(pbxd, tmp_path, "3001", "3101", "3102", "3103", **{
        "3102": {"ring_seconds": 2.5}, "3103": {"answer_code": 486}})  # fmt: skip
    heard = ears(tmp_path, customer, a, b)
    phases: dict[str, tuple[float, float]] = {}
    try:
        start(customer, a, b, busy)
        connect_queue_call(pbxd, customer, a)
        # Not a number of ours, a ring group-less queue-less number, an unregistered phone:
        # refused, the call goes on as it was.
        for to, wanted in (("3999", (422, "bad_target")), ("3104", (409, "target_unavailable"))):
            status, body = user_call(pbxd, token, "POST", "/api/v1/agents/3101/call/transfer",
                                     {"to": to})  # fmt: skip
            assert (status, body["error"]["code"]) == wanted, body
        assert control(pbxd, token, "transfer", {"to": "3102"}) is None
        a.wait_for("call_ended", timeout=5)  # A is hung up at once
        ringing = time.time()
        b.wait_for("incoming_call", timeout=10)
        b.wait_for("media_active", timeout=10)
        phases["ringing"] = (ringing, b.seen("media_active")[-1]["wall"])
        wait_until("B has the call", lambda: [c["agent"] for c in pbxd.api(
            "GET", "/api/v1/calls/live")["items"]] == ["3102"])  # fmt: skip
        assert agent_state(pbxd, "3102") == "on_call"
        phases["b"] = phase()
        # An admin transfers B's call on to a phone that refuses: the caller goes back to the
        # head of queue 600, whose agent A is free again after his wrap-up.
        assert control(pbxd, pbxd.token, "transfer", {"to": "3103"}, agent="3102") is None
        b.wait_for("call_ended", timeout=5)
        busy.wait_for("incoming_call", timeout=10)
        wait_until("A answers the caller again", lambda: len(a.seen("media_active")) == 2,
                   timeout=15)  # fmt: skip
        wait_until("A has the call", lambda: agent_state(pbxd, "3101") == "on_call")
        time.sleep(1.0)
        phases["back"] = phase()
        customer.hangup()
        a.wait_for("call_ended", timeout=5)
    finally:
        stop_phones(customer, a, b, busy)

    ringing = heard["3001"].levels(*phases["ringing"])
    assert hears(ringing, music=True), ringing  # music while B rang
    b_phase = {who: heard[who].levels(*phases["b"]) for who in ("3001", "3102")}
    assert hears(b_phase["3001"], B_HZ) and hears(b_phase["3102"], CUSTOMER_HZ), b_phase
    back = {who: heard[who].levels(*phases["back"]) for who in ("3001", "3101")}
    assert hears(back["3001"], A_HZ) and hears(back["3101"], CUSTOMER_HZ), back

    row, legs, story = call_story(pbxd)
    assert row["disposition"] == "ANSWERED", row
    assert [(leg["party"], leg["disposition"]) for leg in legs if leg["party"] != "3001"] == [
        ("3101", "ANSWERED"), ("3102", "ANSWERED"), ("3103", "BUSY"), ("3101", "ANSWERED"),
    ], legs  # fmt: skip
    kept = ("CONNECT", "TRANSFER", "TRANSFER_RETURN", "COMPLETE_CALLER")
    assert [s for s in story if s[0] in kept] == [
        ("CONNECT", "3101"), ("TRANSFER", "3101"), ("TRANSFER", "3102"),
        ("TRANSFER_RETURN", None), ("CONNECT", "3101"), ("COMPLETE_CALLER", "3101"),
    ], story  # fmt: skip
    transfers = queue_events(pbxd, call_id=row["call_id"], event="TRANSFER")
    assert [e["data"]["data"].split("|")[:2] for e in transfers] == [
        ["blind", "extension:3102"], ["blind", "extension:3103"],
    ]  # fmt: skip
