"""A supervisor monitors an agent's queue call with real pjsua2 phones (issue 7): listen
(监听), whisper (密语), barge (强插) and hang up (强拆), from the API and from a desk phone's
feature codes.

Queue 600 (ring all, every call recorded) has agent 3101. The caller (3001) sends 440 Hz, the
agent 1000 Hz, the supervisor (user "leader", who leads queue 600 and works at 3201) 700 Hz.
Each phone records what it hears; each phase of the monitoring is cut out of those recordings
on the wall clock the phones and the test share, and a tone is present when its amplitude
stands out in the spectrum, absent when nothing is left of it. What a user would check besides:
the supervisor's phone shows the agent's number, /calls/live shows the monitor, the CDR and the
queue log say who hung up, the recording still has both parties, and a supervisor of another
queue is refused by the API (403) and by the feature code (a prompt, then hang-up; logged).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .audio import prompt_match, read_samples, write_tone
from .pbxd_process import PROMPTS, PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones
from .queue_story import create_queue, is_state, phone, start, wait_until

pytestmark = pytest.mark.peer

CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ = 440.0, 1000.0, 700.0
AMPLITUDE = 0.25  # three tones summed stay far from clipping
PRESENT = 0.06  # amplitude (full scale 1.0) of a tone that is heard
ABSENT = 0.012  # a tone weaker than this is not heard (about -26 dB under a heard one)
PHASE = 4.0  # seconds of each monitoring mode
MARGIN = 0.8  # seconds cut off the start of a phase (jitter buffers, the mode switch)
SUPERVISOR_PASSWORD = "leader-Pass-4711"


# -- audio -------------------------------------------------------------------------------------


def level(samples: np.ndarray, rate: int, frequency: float) -> float:
    """The amplitude of the sinusoid at `frequency` in `samples` (Hann window, its peak
    within a few Hz): about AMPLITUDE for a tone heard as sent, ~0 for one not heard."""
    window = np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft((samples - samples.mean()) * window))
    bins = np.fft.rfftfreq(samples.size, 1 / rate)
    near = np.abs(bins - frequency) <= 8.0
    return float(2 * spectrum[near].max() / window.sum())


class Ear:
    """What one phone heard, cut by wall-clock time (its recording starts with its media)."""

    def __init__(self, phone: PjsuaPhone, path: Path):
        self.phone = phone
        self.path = path

    def between(self, start: float, end: float) -> tuple[np.ndarray, int]:
        [active] = self.phone.seen("media_active")
        samples, rate = read_samples(self.path)
        first, last = (int((t - active["wall"]) * rate) for t in (start, end))
        assert 0 <= first < last <= samples.size, (self.phone.user, start, end, samples.size)
        return samples[first:last], rate

    def levels(self, start: float, end: float) -> dict[float, float]:
        samples, rate = self.between(start, end)
        return {
            hz: round(level(samples, rate, hz), 3) for hz in (CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ)
        }


def hears(levels: dict[float, float], *wanted: float) -> bool:
    """Exactly the tones `wanted` stand out; the others are gone."""
    return all((levels[hz] > PRESENT) if hz in wanted else (levels[hz] < ABSENT) for hz in levels)


# -- the API as another user -------------------------------------------------------------------


def user_call(pbxd: PbxdProcess, token: str, method: str, path: str, body: Any = None):
    """(status, JSON) of an API call with `token`."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(pbxd.base_url + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, json.loads(raw) if raw else None


def login(pbxd: PbxdProcess, username: str, password: str) -> str:
    status, body = user_call(pbxd, "", "POST", "/api/v1/auth/login",
                             {"username": username, "password": password})  # fmt: skip
    assert status == 200, body
    return body["token"]


@pytest.fixture(scope="module")
def center(pbxd: PbxdProcess) -> dict[str, str]:
    """Extensions, queues 600 (agent 3101) and 601, and the users: tokens by username."""
    for number in ("3001", "3101", "3201", "3301"):
        pbxd.create_extension(number, f"Secret-{number}")
    create_queue(pbxd, "600", "ringall", ["3101"], timeout=15, recording="all")
    create_queue(pbxd, "601", "ringall", [], timeout=15)
    users = (
        ("leader", "supervisor", "3201", ["600"]),
        ("other", "supervisor", "3301", ["601"]),  # leads another queue
        ("deskless", "supervisor", None, ["600"]),  # leads 600, has no extension
        ("agent", "agent", "3101", []),
    )
    tokens = {}
    for username, role, extension, queues in users:
        pbxd.api("POST", "/api/v1/users", {"username": username, "role": role,
                 "password": SUPERVISOR_PASSWORD, "extension": extension, "queues": queues},
                 expect=201)  # fmt: skip
        tokens[username] = login(pbxd, username, SUPERVISOR_PASSWORD)
    return tokens


def phones(pbxd: PbxdProcess, tmp_path: Path, *numbers: str, **options: Any) -> list[PjsuaPhone]:
    tones = {"3001": CUSTOMER_HZ, "3101": AGENT_HZ, "3201": SUPERVISOR_HZ, "3301": 550.0}
    made = []
    for number in numbers:
        tone = write_tone(tmp_path / f"{number}.wav", tones[number], 4.0, amplitude=AMPLITUDE)
        heard = tmp_path / f"{number}-heard.wav"
        extra = options.get(number, {})
        made.append(phone(pbxd, tmp_path, number, create=False, play=tone, record=heard, **extra))
    return made


def connect_queue_call(caller: PjsuaPhone, agent: PjsuaPhone, pbxd: PbxdProcess) -> None:
    caller.call("600")
    caller.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
    agent.wait_for("media_active", timeout=15)
    wait_until("agent 3101 on a call",
               lambda: pbxd.api("GET", "/api/v1/agents/3101")["state"] == "on_call")  # fmt: skip
    time.sleep(1.0)  # the bridge takes over from the queue


def test_listen_whisper_barge_and_hang_up_from_the_api(
    pbxd: PbxdProcess, center: dict[str, str], tmp_path: Path
) -> None:
    leader = center["leader"]
    caller, agent, supervisor = phones(
        pbxd, tmp_path, "3001", "3101", "3201", **{"3101": {"ring_seconds": 0.5}}
    )
    ears = {p.user: Ear(p, tmp_path / f"{p.user}-heard.wav") for p in (caller, agent, supervisor)}
    try:
        start(caller, agent, supervisor)
        monitor = "/api/v1/agents/3101/monitor"
        # Before the call: nothing to monitor.
        status, body = user_call(pbxd, leader, "POST", monitor, {"mode": "listen"})
        assert (status, body["error"]["code"]) == (409, "no_call"), body
        connect_queue_call(caller, agent, pbxd)

        # Who may not: another queue's supervisor, an agent, a supervisor without a phone.
        for who, wanted in (("other", 403), ("agent", 403), ("deskless", 422)):
            status, body = user_call(pbxd, center[who], "POST", monitor, {"mode": "listen"})
            assert status == wanted, (who, body)
        assert supervisor.seen("incoming_call") == []

        status, body = user_call(pbxd, leader, "POST", monitor, {"mode": "listen"})
        assert (status, body["state"], body["supervisor"]) == (200, "ringing", "3201"), body
        rung = supervisor.wait_for("incoming_call", timeout=10)
        assert "3101" in rung["remote_uri"], rung  # his phone shows the agent's number
        listen_at = supervisor.wait_for("media_active", timeout=10)["wall"]

        def joined() -> dict | None:  # pbxd takes his 200 OK a moment after his phone sends it
            [call] = user_call(pbxd, leader, "GET", "/api/v1/calls/live")[1]["items"]
            return call if call["monitors"][0]["state"] == "connected" else None

        call = wait_until("the supervisor on the call", joined, timeout=5)
        assert (call["agent"], call["queue"], call["customer"], call["recording"]) == (
            "3101", "600", "3001", True,
        )  # fmt: skip
        assert [(m["supervisor"], m["mode"], m["state"]) for m in call["monitors"]] == [
            ("3201", "listen", "connected")
        ]
        time.sleep(PHASE)

        phases = {"listen": (listen_at, time.time())}
        for mode in ("whisper", "barge"):
            status, body = user_call(pbxd, leader, "POST", monitor, {"mode": mode})
            assert (status, body["mode"], body["state"]) == (200, mode, "connected"), body
            began = time.time()
            time.sleep(PHASE)
            phases[mode] = (began, time.time())
        supervisor.dtmf("4")  # back to listening from his phone's keys
        began = time.time()
        time.sleep(PHASE)
        phases["keys: listen"] = (began, time.time())
        supervisor.hangup()
        supervisor.wait_for("call_ended", timeout=5)
        began = time.time()
        time.sleep(PHASE)
        phases["supervisor gone"] = (began, time.time())
        assert not caller.seen("call_ended") and not agent.seen("call_ended")
        assert len(supervisor.seen("incoming_call")) == 1  # one call for every mode

        status, _ = user_call(pbxd, center["other"], "POST", "/api/v1/agents/3101/hangup")
        assert status == 403
        status, _ = user_call(pbxd, leader, "POST", "/api/v1/agents/3101/hangup")
        assert status == 204
        for party in (caller, agent):  # both legs, ended by pbxd
            party.wait_for("call_ended", timeout=5)
            assert party.seen("request", where=lambda e: e["method"] == "BYE"), party.user
        assert user_call(pbxd, leader, "GET", "/api/v1/calls/live")[1]["items"] == []
    finally:
        stop_phones(caller, agent, supervisor)

    expected = {  # who hears which tones in each phase
        "listen": {"3001": [AGENT_HZ], "3101": [CUSTOMER_HZ],
                   "3201": [CUSTOMER_HZ, AGENT_HZ]},
        "whisper": {"3001": [AGENT_HZ], "3101": [CUSTOMER_HZ, SUPERVISOR_HZ],
                    "3201": [CUSTOMER_HZ, AGENT_HZ]},
        "barge": {"3001": [AGENT_HZ, SUPERVISOR_HZ], "3101": [CUSTOMER_HZ, SUPERVISOR_HZ],
                  "3201": [CUSTOMER_HZ, AGENT_HZ]},
        "keys: listen": {"3001": [AGENT_HZ], "3101": [CUSTOMER_HZ],
                         "3201": [CUSTOMER_HZ, AGENT_HZ]},
        "supervisor gone": {"3001": [AGENT_HZ], "3101": [CUSTOMER_HZ]},
    }  # fmt: skip
    heard = {
        name: {who: ears[who].levels(phases[name][0] + MARGIN, phases[name][1] - 0.3)
               for who in ears_heard}
        for name, ears_heard in expected.items()
    }  # fmt: skip
    for name, ears_heard in expected.items():
        for who, tones in ears_heard.items():
            assert hears(heard[name][who], *tones), (name, who, heard[name])

    # The CDR and the queue log say the system hung up, on whose request.
    row = pbxd.wait_cdr(lambda r: r["caller"] == "3001" and r["callee"] == "600", timeout=10)
    assert (row["disposition"], row["hangup_side"]) == ("ANSWERED", "system"), row
    legs = pbxd.api("GET", f"/api/v1/cdr/{row['call_id']}/legs")
    assert {leg["party"]: leg["hangup_side"] for leg in legs["items"]} == {
        "3001": "system", "3101": "system",
    }, legs  # fmt: skip
    events = pbxd.api("GET", f"/api/v1/queue-events?call_id={row['call_id']}")["items"]
    [complete] = [e for e in events if e["event"].startswith("COMPLETE")]
    assert (complete["data"]["hangup_side"], complete["data"]["by"]) == ("system", "leader")
    oplog = pbxd.api("GET", "/api/v1/operation-log?username=leader")["items"]
    done = [(r["action"].split("/")[-1], r["detail"].get("mode")) for r in oplog]
    assert ("hangup", None) in done and ("monitor", "barge") in done, oplog

    # The recording went on through the monitoring: customer left, agent right, to the end.
    [recording] = pbxd.api("GET", "/api/v1/recordings?queue=600")["items"]
    wav = pbxd.download(f"/api/v1/recordings/{recording['id']}/audio", tmp_path / "call.wav")
    with wave.open(str(wav), "rb") as src:
        rate, frames = src.getframerate(), src.readframes(src.getnframes())
    stereo = np.frombuffer(frames, dtype="<i2").reshape(-1, 2).astype(float) / 32768
    seconds = stereo.shape[0] / rate
    monitored = phases["supervisor gone"][1] - phases["listen"][0]
    assert seconds > monitored, (seconds, monitored)
    # It starts about when the agent's media does: the barge phase is found on that clock.
    [agent_media] = agent.seen("media_active")
    barge_start, barge_end = (int((t - agent_media["wall"]) * rate) for t in phases["barge"])
    parts = {
        "before": stereo[: 3 * rate],
        "barge": stereo[barge_start + rate : barge_end - rate],
        "end": stereo[-4 * rate : -rate],
    }
    for name, part in parts.items():
        assert part.shape[0] >= rate, (name, part.shape)
        left = {hz: level(part[:, 0], rate, hz) for hz in (CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ)}
        right = {hz: level(part[:, 1], rate, hz) for hz in (CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ)}
        assert hears(left, CUSTOMER_HZ) and hears(right, AGENT_HZ), (name, left, right)


def test_feature_codes_from_a_desk_phone(
    pbxd: PbxdProcess, center: dict[str, str], tmp_path: Path
) -> None:
    caller, agent, supervisor, outsider = phones(
        pbxd, tmp_path, "3001", "3101", "3201", "3301", **{"3101": {"ring_seconds": 0.5}}
    )
    ears = {p.user: Ear(p, tmp_path / f"{p.user}-heard.wav") for p in (caller, agent, supervisor)}
    try:
        start(caller, agent, supervisor, outsider)
        connect_queue_call(caller, agent, pbxd)

        # A supervisor of another queue: a prompt, then pbxd hangs up; he never hears the call.
        outsider.call("*903101")
        outsider.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
        ended = outsider.wait_for("call_ended", timeout=15)
        assert ended["measured_seconds"] > 1.0, ended  # the prompt was played

        supervisor.call("*913101")  # whisper
        whisper_at = supervisor.wait_for("media_active", timeout=10)["wall"]
        time.sleep(PHASE)
        supervisor.dtmf("6")  # barge
        barge_at = time.time()
        time.sleep(PHASE)
        barge_end = time.time()
        caller.hangup()  # the call ends: the supervisor is hung up too
        agent.wait_for("call_ended", timeout=5)
        supervisor.wait_for("call_ended", timeout=5)
        assert supervisor.seen("request", where=lambda e: e["method"] == "BYE")  # pbxd's
    finally:
        stop_phones(caller, agent, supervisor, outsider)

    whisper = {who: ear.levels(whisper_at + MARGIN, barge_at - 0.3) for who, ear in ears.items()}
    assert hears(whisper["3001"], AGENT_HZ), whisper
    assert hears(whisper["3101"], CUSTOMER_HZ, SUPERVISOR_HZ), whisper
    assert hears(whisper["3201"], CUSTOMER_HZ, AGENT_HZ), whisper
    barge = {who: ear.levels(barge_at + MARGIN, barge_end - 0.3) for who, ear in ears.items()}
    assert hears(barge["3001"], AGENT_HZ, SUPERVISOR_HZ), barge
    assert hears(barge["3101"], CUSTOMER_HZ, SUPERVISOR_HZ), barge

    refused, rate = read_samples(tmp_path / "3301-heard.wav")
    assert level(refused, rate, CUSTOMER_HZ) < ABSENT and level(refused, rate, AGENT_HZ) < ABSENT
    assert prompt_match(refused, rate, PROMPTS / "zh" / "unavailable.wav") > 0.6

    row = pbxd.wait_cdr(
        lambda r: r["caller"] == "3001" and r["callee"] == "600" and r["hangup_side"] == "caller",
        timeout=10,
    )
    assert row["disposition"] == "ANSWERED", row
    actions = [
        (r["username"], r["action"], r["target"], r["detail"].get("mode"))
        for r in pbxd.api("GET", "/api/v1/operation-log?limit=50")["items"]
        if r["action"].startswith("phone_monitor")
    ]
    assert ("other", "phone_monitor_refused", "*903101", "listen") in actions, actions
    assert ("leader", "phone_monitor", "*913101", "whisper") in actions, actions
