"""Agents and callers in queues with real pjsua2 phones: wrap-up, pause, one call at a time,
joining an empty or full queue, leaving an emptied one, and what a waiting caller hears
(announcements and the queue's music on hold, found in his recording by cross-correlation).

What a supervisor would check is read back from pbxd (queue event log, CDR and its
call-center detail, /api/v1/agents, voicemail box) and from the phones themselves (which
INVITEs each phone received, and when, on the wall clock both sides share).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from .audio import peak_frequency, read_samples, write_tone
from .pbxd_process import PROMPTS, PbxdProcess
from .peers.pjsua_phone import call_and_stay, stop_phones
from .queue_story import (
    call_queue,
    create_queue,
    epoch,
    is_state,
    phone,
    queue_calls,
    queue_events,
    rung_phones,
    start,
    wait_until,
)

pytestmark = pytest.mark.peer

TOLERANCE_HZ = 15.0


def test_an_agent_in_wrapup_is_not_rung_until_it_ends(pbxd: PbxdProcess, tmp_path: Path) -> None:
    """Ring all, wrap-up 4 s. Call 1: both ring, 3701 answers first. Call 2, placed as call 1
    ends: 3701 wraps up, only 3702 rings. Call 3, placed as call 2 ends: 3702 wraps up now,
    and 3701 is rung as soon as its own wrap-up ends."""
    first = phone(pbxd, tmp_path, "3701", ring_seconds=0.3, hangup_after=1.0)
    second = phone(pbxd, tmp_path, "3702", ring_seconds=1.5, hangup_after=1.0)
    caller = phone(pbxd, tmp_path, "3709")
    create_queue(pbxd, "630", "ringall", ["3701", "3702"], wrapup=4, timeout=10)
    try:
        start(first, second, caller)
        call_queue(caller, "630")
        # what a supervisor sees meanwhile (the wrap-up runs for 4 s from the hang-up)
        assert pbxd.api("GET", "/api/v1/agents/3701")["state"] == "wrapup"
        for _ in range(2):
            call_queue(caller, "630")
    finally:
        stop_phones(caller, first, second)
    calls = queue_calls(pbxd, "3709", "630", 3)
    assert sorted(calls[0].rung) == ["3701", "3702"] and calls[0].agent == "3701", calls[0].story
    assert calls[1].rung == ["3702"] and calls[1].agent == "3702", calls[1].story
    assert calls[2].rung == ["3701"] and calls[2].agent == "3701", calls[2].story

    # The wrap-up lasted its 4 s (queue log), and belongs to the call it follows.
    wrapup = queue_events(pbxd, agent="3701", event="WRAPUP_END")[0]
    ended = calls[0].time_of("COMPLETE_AGENT", "3701")
    assert 3.5 < epoch(wrapup["time"]) - ended < 5.0, (wrapup, calls[0].story)
    assert wrapup["call_id"] == calls[0].call_id and wrapup["queue"] == "630", wrapup
    assert calls[2].time_of("RING", "3701") >= epoch(wrapup["time"]) - 0.05

    # 3701's phone: one INVITE for call 1, the next one only after the wrap-up.
    invites = first.seen("incoming_call")
    [hung_up, *_] = first.seen("call_ended")
    assert len(invites) == 2, first.diagnostics()
    assert invites[1]["wall"] - hung_up["wall"] > 3.8, (hung_up, invites)


def test_a_wrapup_that_ends_during_the_survey_is_logged_against_its_call(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    """Queue 652 asks the caller for a rating after the agent hangs up; 3771 wraps up for 2 s
    meanwhile. The wrap-up ends while the caller is still in the survey, before the call's
    history is written: its WRAPUP_END row must still name the call."""
    agent = phone(pbxd, tmp_path, "3771", ring_seconds=0.3, hangup_after=1.0)
    caller = phone(pbxd, tmp_path, "3779")
    create_queue(pbxd, "652", "ringall", ["3771"], wrapup=2, survey=True)
    try:
        start(agent, caller)
        caller.call("652")
        caller.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
        agent.wait_for("call_ended", timeout=15)  # the survey begins
        wait_until(
            "3771's wrap-up over",
            lambda: pbxd.api("GET", "/api/v1/agents/3771")["state"] == "idle",
        )
        assert not caller.seen("call_ended")  # still in the survey
        caller.dtmf("1")  # very satisfied
        caller.wait_for("call_ended", timeout=15)
    finally:
        stop_phones(caller, agent)
    [call] = queue_calls(pbxd, "3779", "652", 1)
    assert call.agent == "3771", call.story
    legs = pbxd.api("GET", f"/api/v1/cdr/{call.call_id}/legs")
    assert legs["details"][0]["survey"] == "very_satisfied", legs
    [wrapup] = wait_until(
        "3771's WRAPUP_END", lambda: queue_events(pbxd, agent="3771", event="WRAPUP_END")
    )
    assert wrapup["call_id"] == call.call_id and wrapup["queue"] == "652", wrapup


def test_a_paused_agent_is_not_rung(pbxd: PbxdProcess, tmp_path: Path) -> None:
    """3711 answers faster than 3712 (ring all). Paused through the API (reason "lunch") and
    from the phone (*46 + reason code 3), 3711 is not rung; unpaused (API, *47) it is."""
    agent = phone(pbxd, tmp_path, "3711", ring_seconds=0.3, hangup_after=0.8)
    other = phone(pbxd, tmp_path, "3712", ring_seconds=1.0, hangup_after=0.8)
    caller = phone(pbxd, tmp_path, "3719")
    create_queue(pbxd, "631", "ringall", ["3711", "3712"])

    def agent_state() -> dict:
        listed = {a["extension"]: a for a in pbxd.api("GET", "/api/v1/agents")["items"]}
        return listed["3711"]

    def feature_code(code: str) -> None:
        agent.call(code)
        agent.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
        agent.wait_for("call_ended", timeout=15)

    try:
        start(agent, other, caller)
        pbxd.api("POST", "/api/v1/agents/3711/pause", {"reason": "lunch"})
        state = agent_state()
        assert state["paused"] is True and state["pause_reason"] == "lunch", state
        call_queue(caller, "631")  # 1: paused through the API
        pbxd.api("POST", "/api/v1/agents/3711/unpause", {})
        assert agent_state()["paused"] is False
        feature_code("*463")
        state = agent_state()
        assert state["paused"] is True and state["pause_reason"] == "meeting", state
        invites_before = rung_phones(agent)["3711"]
        call_queue(caller, "631")  # 2: paused from the phone
        assert rung_phones(agent)["3711"] == invites_before
        feature_code("*47")
        assert agent_state()["paused"] is False
        call_queue(caller, "631")  # 3: back at work
    finally:
        stop_phones(caller, agent, other)
    calls = queue_calls(pbxd, "3719", "631", 3)
    assert [c.rung for c in calls] == [["3712"], ["3712"], ["3711", "3712"]], [
        c.story for c in calls
    ]
    assert [c.agent for c in calls] == ["3712", "3712", "3711"]
    assert [c.parties for c in calls] == [["3719", "3712"], ["3719", "3712"], ["3719", "3711"]]
    assert rung_phones(agent) == {"3711": 1}  # call 3's INVITE only

    def pauses() -> list[tuple]:
        rows = queue_events(pbxd, agent="3711")
        return [(e["event"], e["queue"], e["data"].get("data")) for e in rows
                if e["event"] in ("PAUSE", "UNPAUSE")]  # fmt: skip

    rows = wait_until("four PAUSE/UNPAUSE rows of 3711", lambda: len(pauses()) >= 4 and pauses())
    assert rows == [
        ("PAUSE", "631", "lunch"),
        ("UNPAUSE", "631", None),
        ("PAUSE", "631", "meeting"),
        ("UNPAUSE", "631", None),
    ], rows


def test_an_agent_in_two_queues_is_never_rung_twice_at_once(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    """3721 works in 632, 633 and 634; 3722 in 633 only. While 3721 rings for 632's caller,
    633's caller rings 3722 alone; while 3721 talks, 634's caller (3721 is its only agent)
    waits and 3721 is rung once its call has ended."""
    shared = phone(pbxd, tmp_path, "3721", ring_seconds=1.5, hangup_after=3.0)
    only = phone(pbxd, tmp_path, "3722", ring_seconds=0.3, hangup_after=1.5)
    callers = [phone(pbxd, tmp_path, n) for n in ("3726", "3727", "3728")]
    create_queue(pbxd, "632", "ringall", ["3721"], timeout=10)
    create_queue(pbxd, "633", "ringall", ["3721", "3722"], timeout=10)
    create_queue(pbxd, "634", "ringall", ["3721"], timeout=10)
    try:
        start(shared, only, *callers)
        callers[0].call("632")
        shared.wait_for("incoming_call", timeout=10)
        callers[1].call("633")  # 3721 is ringing for 632's caller
        only.wait_for("incoming_call", timeout=10)
        shared.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
        callers[2].call("634")  # 3721 is talking to 632's caller
        for caller in callers:
            caller.wait_for("call_ended", timeout=20)
    finally:
        stop_phones(*callers, shared, only)
    [first] = queue_calls(pbxd, "3726", "632", 1)
    [second] = queue_calls(pbxd, "3727", "633", 1)
    [third] = queue_calls(pbxd, "3728", "634", 1)
    assert first.rung == ["3721"] and first.agent == "3721", first.story
    assert second.rung == ["3722"] and second.agent == "3722", second.story
    assert third.rung == ["3721"] and third.agent == "3721", third.story
    assert third.time_of("RING", "3721") >= first.time_of("COMPLETE_AGENT", "3721") - 0.05
    # The phone itself: two INVITEs in all, the second after the first call was over (a
    # second INVITE during a call would have been refused with 486 and still show here).
    invites = shared.seen("incoming_call")
    ends = shared.seen("call_ended")
    assert len(invites) == 2 and len(ends) == 2, shared.diagnostics()
    assert invites[0]["wall"] < ends[0]["wall"] <= invites[1]["wall"], shared.diagnostics()
    assert len(shared.seen("call_state", is_state("CONFIRMED"))) == 2, shared.diagnostics()


def prompt_seconds(prompt_id: str, language: str = "zh") -> float:
    path = PROMPTS / language / f"{prompt_id}.wav"
    if not path.exists():
        return 0.0
    samples, rate = read_samples(path)
    return samples.size / rate


def test_an_empty_queue_refusing_callers_sends_them_to_its_voicemail(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    """join_empty false and nobody logged in: the caller never waits, the queue's mailbox
    (its overflow, as the queue takes voicemail) greets him and keeps his message."""
    caller = phone(pbxd, tmp_path, "3741", play=write_tone(tmp_path / "440.wav", 440, 2.0))
    pbxd.create_extension("3742", "Secret-3742")
    create_queue(pbxd, "640", "ringall", [], join_empty=False, voicemail=True)
    pbxd.api("POST", "/api/v1/agents/3742/login", {"queues": ["640"]})
    pbxd.api("POST", "/api/v1/agents/3742/logout", {"queues": ["640"]})
    greeting = max(
        sum(prompt_seconds(p) for p in ("vm-greeting-default", "digit-6", "digit-4",
                                        "digit-0", "vm-greeting-default-end")),
        prompt_seconds("vm-greeting-queue"),
    )  # fmt: skip
    call_and_stay(caller, "640", greeting + 1.0 + 2.5)  # the greeting, the beep, a message
    [call] = queue_calls(pbxd, "3741", "640", 1)
    assert [e["event"] for e in call.events] == ["EXIT_EMPTY", "TRANSFER_OVERFLOW"], call.story
    assert call.events[1]["data"] == {"data": "voicemail:640"}, call.events
    assert call.disposition == "NO ANSWER" and call.agent is None

    def messages() -> list[dict]:
        return pbxd.api("GET", "/api/v1/voicemail/640")["items"]

    [message] = wait_until("a message in box 640", messages)
    assert message["caller"] == "3741" and message["duration"] >= 1.0, message


def test_a_full_queue_and_an_emptied_queue_overflow(pbxd: PbxdProcess, tmp_path: Path) -> None:
    """641 holds one waiting caller (max_length 1): the second overflows at once (EXIT_FULL)
    to extension 3745. In 642 (leave_when_empty) a caller waits for a paused agent; when that
    last agent logs out, the caller leaves for 3745 (EXIT_EMPTY)."""
    backup = phone(pbxd, tmp_path, "3745", ring_seconds=0.3, hangup_after=1.0)
    waiting, overflowing, left = (phone(pbxd, tmp_path, n) for n in ("3746", "3747", "3748"))
    pbxd.create_extension("3749", "Secret-3749")
    create_queue(pbxd, "641", "ringall", [], max_length=1, overflow="extension:3745")
    create_queue(pbxd, "642", "ringall", [], leave_when_empty=True, overflow="extension:3745")
    pbxd.api("POST", "/api/v1/agents/3749/login", {"queues": ["642"]})
    pbxd.api("POST", "/api/v1/agents/3749/pause", {"reason": "meeting"})
    try:
        start(backup, waiting, overflowing, left)
        waiting.call("641")
        waiting.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
        call_queue(overflowing, "641")  # answered by 3745, who hangs up
        assert rung_phones(backup) == {"3745": 1}
        waiting.hangup()
        waiting.wait_for("call_ended", timeout=10)

        left.call("642")
        left.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
        pbxd.api("POST", "/api/v1/agents/3749/logout", {"queues": ["642"]})
        backup.wait_for("incoming_call", timeout=10, where=lambda e: "3748@" in e["remote_uri"])
        left.wait_for("call_ended", timeout=15)
    finally:
        stop_phones(backup, waiting, overflowing, left)
    [abandoned] = queue_calls(pbxd, "3746", "641", 1)
    assert [e["event"] for e in abandoned.events] == ["ENTER", "ABANDON"], abandoned.story
    [full] = queue_calls(pbxd, "3747", "641", 1)
    assert [e["event"] for e in full.events] == ["EXIT_FULL", "TRANSFER_OVERFLOW"], full.story
    assert full.events[0]["data"] == {"data": "2|2|0"}, full.events  # would be 2nd in line
    assert full.events[1]["data"] == {"data": "extension:3745"}, full.events
    [emptied] = queue_calls(pbxd, "3748", "642", 1)
    assert [e["event"] for e in emptied.events] == [
        "ENTER",
        "EXIT_EMPTY",
        "TRANSFER_OVERFLOW",
    ], emptied.story
    [logout] = queue_events(pbxd, event="LOGOUT", agent="3749")
    assert emptied.time_of("EXIT_EMPTY") >= epoch(logout["time"]) - 0.05
    assert rung_phones(backup) == {"3745": 2}
    for call in (full, emptied):
        assert call.disposition == "NO ANSWER", call


# --- what a waiting caller hears ---------------------------------------------------------------

LANGUAGE = "zh"  # pbxd's default prompt language
ONSET_TOLERANCE = 0.4  # s between where a piece is found and where it is due (the
# phone's jitter buffer delays the first seconds of a call by up to 0.15 s, measured)
MATCH = 0.8  # normalised cross-correlation that counts as "this piece is playing here"
CHUNK = 0.2  # s: prompts are looked for piece by piece (see heard_at)
HEARD = 0.5  # share of its voiced pieces found where due: the prompt was heard
PERIODIC_INTERVAL = 18  # s (the API's minimum is 10)
# The caller waits alone this long: the join round (10.7 s), music, the periodic round at 18 s
# (12.6 s), music; the agent who logs in then connects well before the next round (36 s).
ALONE_SECONDS = 33.0
MUSIC_TEMPLATE = 1.5  # s: the start of the music on hold, heard again after each round
# What the caller hears when joining, and every PERIODIC_INTERVAL: back to back, then music.
JOIN_ROUND = ("queue-welcome", "queue-position", "digit-1", "queue-position-end",
              "queue-wait", "digit-2", "minutes", "moh")  # fmt: skip
PERIODIC_ROUND = ("queue-periodic", *JOIN_ROUND[1:])


def prompt_samples(prompt_id: str) -> np.ndarray:
    """A system prompt as pbxd plays it (8 kHz); music on hold from the common dir."""
    folder = "common" if prompt_id == "moh" else LANGUAGE
    samples, rate = read_samples(PROMPTS / folder / f"{prompt_id}.wav")
    assert rate == 8000, (prompt_id, rate)
    return samples


def at_8khz(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == 8000:
        return samples
    assert rate == 16000, rate  # pjsua's conference bridge runs at 16 kHz here
    even = samples[: samples.size // 2 * 2]
    return (even[0::2] + even[1::2]) / 2  # average pairs: a low-pass, then every 2nd sample


def similarity(heard: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of `template` with every stretch of `heard` (1.0 where
    `heard` is a scaled copy of it), one value per start sample."""
    n = template.size
    t = template - template.mean()
    t /= np.linalg.norm(t) + 1e-12
    size = 1 << int(np.ceil(np.log2(heard.size + n)))
    corr = np.fft.irfft(np.fft.rfft(heard, size) * np.conj(np.fft.rfft(t, size)), size)
    corr = corr[: heard.size - n + 1]
    sums = np.concatenate(([0.0], np.cumsum(heard)))
    squares = np.concatenate(([0.0], np.cumsum(heard**2)))
    window_sum = sums[n:] - sums[:-n]
    energy = squares[n:] - squares[:-n] - window_sum**2 / n  # of the mean-free stretch
    return corr / np.sqrt(np.maximum(energy, 1e-9))


def heard_at(heard: np.ndarray, template: np.ndarray, due: float, rate: int = 8000) -> float:
    """The share of `template`'s CHUNK-long voiced pieces found in `heard` (similarity >=
    MATCH) within ONSET_TOLERANCE of where each is due if the template starts at `due` s.

    Piece by piece, because the phone's jitter buffer may drop a frame, conceal a late one
    (PLC) or shift the timeline by tens of ms, mostly in a call's first seconds: that spoils
    the piece it hits, not the whole prompt. Near-silent pieces (pauses, a prompt's lead-in
    and tail) are left out: noise decides their similarity.
    """
    n = int(CHUNK * rate)
    pieces = [(k, template[k : k + n]) for k in range(0, max(template.size - n // 2, 1), n)]
    loudness = [float(np.sqrt(np.mean(piece**2))) for _, piece in pieces]
    voiced = [kp for kp, level in zip(pieces, loudness, strict=True) if level >= max(loudness) / 8]
    found = 0
    for k, piece in voiced:
        low = max(0, int((due - ONSET_TOLERANCE) * rate) + k)
        window = heard[low : int((due + ONSET_TOLERANCE) * rate) + k + piece.size]
        if window.size >= piece.size and similarity(window, piece).max() >= MATCH:
            found += 1
    return found / len(voiced)


def start_of(heard: np.ndarray, prompt: np.ndarray, rate: int = 8000) -> float:
    """Where `prompt`, played as the queue answers, starts: the best match of its first 2 s
    within the first 2.5 s (whether it is really there is for heard_at to say)."""
    score = similarity(heard[: int(2.5 * rate)], prompt[: 2 * rate])
    return int(np.argmax(score)) / rate


def round_of(*prompt_ids: str) -> list[tuple[str, float]]:
    """(prompt, offset from the round's start) for prompts played back to back."""
    out, offset = [], 0.0
    for prompt_id in prompt_ids:
        out.append((prompt_id, offset))
        offset += prompt_samples(prompt_id).size / 8000
    return out


def test_a_waiting_caller_hears_welcome_position_wait_and_periodic_prompts(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    """Queue 650 announces its welcome, the caller's position and expected wait at once, then
    every 18 s the periodic prompt with position and wait again; music on hold in between.

    How the test knows what the caller heard: the prompts are the espeak-ng renderings in
    build/prompts, and pbxd plays them sample for sample (8 kHz PCM through G.711). A prompt
    is found in the caller's recording by normalised cross-correlation with the prompt's own
    samples, piece by piece (0.2 s): above 0.9 where it plays (measured), mostly far below
    0.8 elsewhere (music, silence, other words), so the test can tell *which* prompt, even
    which digit, plays *when*, and that the music on hold came back (it starts over after
    each round: its first 1.5 s are a template too). Loudness alone could not tell speech
    from music. The expected times come from the prompt lengths: a round is played back to
    back, without gaps or overlaps; half of each prompt's pieces must be found where due
    (under load the phone conceals lost or late frames now and then: that spoils a piece).

    Expected wait: a first call (3751 answers, talks 1 s) teaches the queue a handle time of
    about 1 s + its 60 s wrap-up; with 3751 logged in and wrapping up (n = 1) the caller at
    position 1 expects 61 s: "2 minutes". After 33 s alone, 3752 logs in and takes the call:
    the caller then hears its 1000 Hz tone.
    """
    first = phone(pbxd, tmp_path, "3751", ring_seconds=0.3, hangup_after=1.0)
    late = phone(pbxd, tmp_path, "3752", ring_seconds=0.3, hangup_after=3.0,
                 play=write_tone(tmp_path / "1000.wav", 1000, 2.0))  # fmt: skip
    warmup = phone(pbxd, tmp_path, "3758")
    heard_path = tmp_path / "3759-heard.wav"
    caller = phone(pbxd, tmp_path, "3759", record=heard_path)
    create_queue(pbxd, "650", "ringall", ["3751"], wrapup=60)
    try:
        start(first, late, warmup, caller)
        call_queue(warmup, "650")
        pbxd.api(
            "PUT",
            "/api/v1/queues/650",
            {"welcome_prompt": "queue-welcome", "announce_position": True,
             "announce_wait": True, "periodic_prompt": "queue-periodic",
             "periodic_interval": PERIODIC_INTERVAL},
        )  # fmt: skip
        caller.call("650")
        joined = caller.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
        time.sleep(max(0.0, joined["wall"] + ALONE_SECONDS - time.time()))  # waiting alone
        assert rung_phones(first) == {"3751": 1}  # in wrap-up all along
        pbxd.api("POST", "/api/v1/agents/3752/login", {"queues": ["650"]})
        late.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
        caller.wait_for("call_ended", timeout=15)
    finally:
        stop_phones(caller, late, first, warmup)
    [call] = queue_calls(pbxd, "3759", "650", 1)
    assert call.agent == "3752" and call.rung == ["3752"], call.story

    samples, rate = read_samples(heard_path)
    heard = at_8khz(samples, rate)
    start_of_welcome = start_of(heard, prompt_samples("queue-welcome"))
    alone = heard[: int(ALONE_SECONDS * 8000)]  # the agent's leg is not bridged before
    heard_where_due = []
    for begins, played in ((0.0, JOIN_ROUND), (PERIODIC_INTERVAL, PERIODIC_ROUND)):
        for prompt_id, at in round_of(*played):
            template = prompt_samples(prompt_id)
            if prompt_id == "moh":
                template = template[: int(MUSIC_TEMPLATE * 8000)]
            due = start_of_welcome + begins + at
            heard_where_due.append((prompt_id, due, heard_at(alone, template, due)))
    assert all(share >= HEARD for _, _, share in heard_where_due), heard_where_due
    # and the method tells prompts apart: no periodic prompt instead of the welcome, no "2"
    # for the position
    assert heard_at(alone, prompt_samples("queue-periodic"), start_of_welcome) < 0.3
    position_number = next(due for p, due, _ in heard_where_due if p == "digit-1")
    assert heard_at(alone, prompt_samples("digit-2"), position_number) < 0.3

    # Then 3752 took the call: the caller hears its tone.
    assert abs(peak_frequency(heard[-2 * 8000 :], 8000) - 1000) < TOLERANCE_HZ


def test_a_queue_plays_its_own_music_on_hold(pbxd: PbxdProcess, tmp_path: Path) -> None:
    """Queue 651's `music` is a prompt (here the system prompt queue-welcome, 4.7 s): a
    caller waiting for an agent hears it over and over, not the system's music on hold."""
    heard_path = tmp_path / "3761-heard.wav"
    caller = phone(pbxd, tmp_path, "3761", record=heard_path)
    create_queue(pbxd, "651", "ringall", [], music="queue-welcome")
    music = prompt_samples("queue-welcome")
    loop = music.size / 8000
    try:
        start(caller)
        caller.call("651")
        joined = caller.wait_for("call_state", timeout=10, where=is_state("CONFIRMED"))
        time.sleep(max(0.0, joined["wall"] + 2 * loop + 0.5 - time.time()))  # waiting
        caller.hangup()
        caller.wait_for("call_ended", timeout=10)
    finally:
        stop_phones(caller)
    [call] = queue_calls(pbxd, "3761", "651", 1)
    assert [e["event"] for e in call.events] == ["ENTER", "ABANDON"], call.story
    samples, rate = read_samples(heard_path)
    heard = at_8khz(samples, rate)
    begins = start_of(heard, music)
    shares = [heard_at(heard, music, begins + k * loop) for k in (0, 1)]
    assert min(shares) >= HEARD, shares  # twice, back to back
    system_music = prompt_samples("moh")[: int(MUSIC_TEMPLATE * 8000)]
    assert max(heard_at(heard, system_music, t) for t in (0.0, loop)) < 0.3
