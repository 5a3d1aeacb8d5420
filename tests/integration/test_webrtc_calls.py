"""Calls with a browser softphone through a real pbxd: SIP over WebSocket, WebRTC media.

The browser is tests/integration/peers/webrtc_browser.py: the WebSocket SIP client of
peers/ws_sip.py registered like JsSIP, with an aiortc peer connection as its media (it offers
and answers UDP/TLS/RTP/SAVPF with Opus, PCMU and PCMA, ICE candidates on 127.0.0.1). The
other party is a pjsua2 phone on UDP (PCMU). The phone plays 440 Hz, the browser's
microphone 1000 Hz; each side's recording must hold the other's tone (FFT), so the audio
crossed pbxd's bridge both ways (Opus <-> G.711 transcoded by the media engine).

Also: a queue rings its browser agent (pbxd's own leg offers WebRTC) who holds and resumes,
hold/resume between a browser and a phone (the B2BUA passes it on), a browser in a conference
room (a leg pbxd answers itself), a busy phone sending the browser to voicemail on the
connection its early answer made, and a browser whose peer connection dies mid-call.

Run with -s to see the set-up times (wall clock): from the INVITE reaching pbxd (its log line,
or the phone's CALLING event for a queue call) to the browser ringing and answering, and to
ICE and DTLS being up. Nothing asserts on them.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from pathlib import Path

import pytest

from pbxd.media.webrtc import check_offer, is_webrtc_offer

from .audio import dominant_frequency, peak_frequency, read_samples, rms, wav_seconds, write_tone
from .pbxd_process import PbxdProcess, check_cdr_row
from .peers.pjsua_phone import PjsuaPhone, stop_phones
from .peers.webrtc_browser import BrowserMedia, BrowserPhone, CallTimes

pytestmark = pytest.mark.peer

TALK_SECONDS = 2.5
TOLERANCE_HZ = 15.0
PHONE_TONE = 440.0
BROWSER_TONE = 1000.0
QUEUE = "681"
ROOM = "881"


# -- helpers ------------------------------------------------------------------------------------


async def registered_browser(pbxd: PbxdProcess, number: str, secret: str) -> BrowserPhone:
    url = f"ws://{pbxd.host}:{pbxd.http_port}/ws"
    browser = BrowserPhone(url, number, secret, pbxd.sip_address, tone=BROWSER_TONE)
    await browser.connect()
    response = await browser.register(expires=300)
    assert response.status == 200, browser.raw
    return browser


def phone_for(pbxd: PbxdProcess, tmp_path: Path, number: str, **options) -> PjsuaPhone:
    return PjsuaPhone(
        number,
        f"Pw{number}secret",
        registrar=pbxd.sip_address,
        play=write_tone(tmp_path / "phone-tone.wav", PHONE_TONE, 2.0),
        record=tmp_path / f"{number}-heard.wav",
        log_dir=tmp_path,
        **options,
    )


async def start_phone(phone: PjsuaPhone) -> None:
    await asyncio.to_thread(phone.start)
    await asyncio.to_thread(phone.wait_registered)


async def wait_phone(phone: PjsuaPhone, event: str, where=lambda e: True, timeout=10.0) -> dict:
    return await asyncio.to_thread(phone.wait_for, event, timeout, where)


def confirmed(event: dict) -> bool:
    return event["state"] == "CONFIRMED"


def assert_webrtc_offer(sdp: bytes) -> None:
    """What pbxd offers a browser: DTLS-SRTP audio with Opus and G.711, candidates inline."""
    assert is_webrtc_offer(sdp), sdp
    offer = check_offer(sdp)
    assert offer.codecs == ("opus", "PCMU", "PCMA"), offer
    assert offer.candidates >= 1 and b" 127.0.0.1 " in sdp, sdp


def assert_browser_heard(
    media: BrowserMedia, since: float, expected: float, until: float = float("inf")
) -> None:
    samples, rate = media.audio_between(since, until)
    assert samples.size >= 0.8 * rate, f"the browser heard {samples.size / rate:.2f} s only"
    level = float((samples**2).mean()) ** 0.5
    assert level > 0.05, f"the browser heard silence (rms {level:.3f})"
    frequency = peak_frequency(samples, rate)
    assert abs(frequency - expected) <= TOLERANCE_HZ, f"the browser heard {frequency:.1f} Hz"


def assert_phone_heard(wav: Path, expected: float, skip: float = 0.5) -> None:
    assert wav_seconds(wav) >= TALK_SECONDS - 1.0, f"{wav}: too short"
    assert rms(wav, skip_seconds=skip) > 0.05, f"{wav} is silent"
    frequency = dominant_frequency(wav, skip_seconds=skip)
    assert abs(frequency - expected) <= TOLERANCE_HZ, f"the phone heard {frequency:.1f} Hz"


_LOG_TIME = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) "


def b2bua_invite_time(pbxd: PbxdProcess, caller: str, callee: str) -> float | None:
    """When pbxd took the (authenticated) INVITE of a call between extensions: its log line
    `call N: caller -> callee`, in wall-clock seconds."""
    pattern = _LOG_TIME + rf"INFO pbxd\.call\.b2bua: call \d+: {caller} -> {callee} \("
    found = re.findall(pattern, pbxd.log_text(), re.M)
    if not found:
        return None
    return datetime.strptime(found[-1], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def report(title: str, start: float | None, **moments: float | None) -> None:
    """One line of set-up times, in ms from `start` (for the lead; -s shows it)."""
    parts = [
        f"{name.replace('_', ' ')} {1000 * (moment - start):.0f} ms"
        for name, moment in moments.items()
        if start is not None and moment is not None
    ]
    print(f"\nWEBRTC SET-UP {title}: " + ", ".join(parts))


async def wait_last_media_state(phone: PjsuaPhone, status: str, timeout: float = 5.0) -> None:
    """Until the phone's latest media state is `status` (after a re-INVITE)."""
    deadline = time.monotonic() + timeout
    while True:
        states = phone.seen("media_state")
        if states and states[-1]["status"] == status:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"media state not {status}: {states}")
        await asyncio.sleep(0.05)


async def cdr_row(pbxd: PbxdProcess, caller: str, callee: str) -> dict:
    row = await asyncio.to_thread(pbxd.wait_call_cdr, caller, callee)
    check_cdr_row(row)
    return row


# -- calls --------------------------------------------------------------------------------------


async def test_a_phone_calls_the_browser_which_answers_with_webrtc(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    browser_number, browser_secret = new_extension()
    phone_number, _ = new_extension()
    browser = await registered_browser(pbxd, browser_number, browser_secret)
    phone = phone_for(pbxd, tmp_path, phone_number)
    media = browser.new_media()
    times = CallTimes()
    try:
        await start_phone(phone)
        phone.call(browser_number)
        invite = await browser.request_of("INVITE")
        times.invite = time.time()
        # Over the browser's own WebSocket, with a WebRTC offer (it registered as a browser).
        assert invite.top_via.transport == "WS", invite.top_via
        assert_webrtc_offer(invite.body)
        dialog = await browser.answer_call(invite, media, 0.2, times)
        await asyncio.wait_for(media.connected.wait(), 5)
        await wait_phone(phone, "call_state", confirmed)
        talking = time.time()
        await asyncio.sleep(TALK_SECONDS)
        assert (await browser.bye(dialog)).status == 200
        await wait_phone(phone, "call_ended")
    finally:
        await browser.close_all()
        await asyncio.to_thread(stop_phones, phone)

    calling = phone.seen("call_state", lambda e: e["state"] == "CALLING")[0]["wall"]
    report(
        "phone -> browser",
        b2bua_invite_time(pbxd, phone_number, browser_number),
        phone_calling=calling,
        browser_invited=times.invite,
        browser_answered=times.answered,
        browser_connected=media.connected_at,
    )
    assert_browser_heard(media, talking + 0.5, PHONE_TONE)
    assert_phone_heard(tmp_path / f"{phone_number}-heard.wav", BROWSER_TONE)
    row = await cdr_row(pbxd, phone_number, browser_number)
    assert (row["disposition"], row["hangup_side"]) == ("ANSWERED", "callee"), row


@pytest.mark.parametrize("early_media", [True, False], ids=["jssip", "sipjs-default"])
async def test_the_browser_calls_a_phone_with_its_webrtc_offer(
    pbxd: PbxdProcess, tmp_path: Path, new_extension, early_media: bool
) -> None:
    """pbxd's answer comes with the phone's ringing: JsSIP applies it there (ICE and DTLS are
    up before the phone answers); SIP.js by default waits for the 200's copy."""
    browser_number, browser_secret = new_extension()
    phone_number, _ = new_extension()
    browser = await registered_browser(pbxd, browser_number, browser_secret)
    browser.early_media = early_media
    phone = phone_for(pbxd, tmp_path, phone_number, ring_seconds=0.5)
    media = browser.new_media()
    times = CallTimes()
    try:
        await start_phone(phone)
        dialog = await browser.call(phone_number, media, times)
        assert browser.finals[-2:] == [407, 200], browser.finals  # digest as on UDP
        assert is_webrtc_offer(dialog.remote_sdp), dialog.remote_sdp  # pbxd's WebRTC answer
        assert times.early_answer is not None  # pbxd's answer came with the ringing
        await asyncio.wait_for(media.connected.wait(), 5)
        incoming = phone.seen("incoming_call")[0]["wall"]
        await wait_phone(phone, "call_state", confirmed)
        talking = time.time()
        await asyncio.sleep(TALK_SECONDS)
        phone.hangup()
        bye = await browser.answer_bye()  # the phone hangs up: the BYE comes over the WebSocket
        assert bye.call_id == dialog.call_id
        await wait_phone(phone, "call_ended")
    finally:
        await browser.close_all()
        await asyncio.to_thread(stop_phones, phone)

    report(
        "browser -> phone" + ("" if early_media else " (answer applied from the 200)"),
        b2bua_invite_time(pbxd, browser_number, phone_number),
        phone_rang=incoming,
        browser_got_answer_with_ringing=times.early_answer,
        browser_connected=media.connected_at,
        phone_answered=times.answered,
    )
    assert media.connected_at is not None
    if early_media:  # ICE and DTLS were up before the phone answered
        assert media.connected_at < times.answered
    assert_browser_heard(media, talking + 0.5, PHONE_TONE)
    assert_phone_heard(tmp_path / f"{phone_number}-heard.wav", BROWSER_TONE)
    row = await cdr_row(pbxd, browser_number, phone_number)
    assert (row["disposition"], row["hangup_side"]) == ("ANSWERED", "callee"), row


async def test_a_queue_rings_its_browser_agent_who_holds_and_resumes(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    """The queue's leg to the agent is pbxd's own (pbxd offers WebRTC, the browser answers);
    the agent's hold is answered by that leg alone: the caller's phone keeps its stream."""
    agent_number, agent_secret = new_extension()
    caller_number, _ = new_extension()
    await asyncio.to_thread(
        pbxd.api,
        "POST",
        "/api/v1/queues",
        {
            "number": QUEUE,
            "name": "Browser agents",
            "strategy": "ringall",
            "members": [{"extension": agent_number, "penalty": 0}],
            "timeout": 10,
            "retry": 0,
            "wrapup": 0,
        },
        201,
    )
    agent = await registered_browser(pbxd, agent_number, agent_secret)
    caller = phone_for(pbxd, tmp_path, caller_number)
    media = agent.new_media()
    times = CallTimes()
    try:
        await start_phone(caller)
        caller.call(QUEUE)
        await wait_phone(caller, "call_state", confirmed)  # the queue answers at once
        invite = await agent.request_of("INVITE", timeout=10)
        times.invite = time.time()
        assert_webrtc_offer(invite.body)
        dialog = await agent.answer_call(invite, media, 0.3, times)
        await asyncio.wait_for(media.connected.wait(), 5)
        talking = time.time()
        await asyncio.sleep(1.5)

        held = await agent.reinvite(dialog, media, "sendonly")
        assert held.status == 200 and b"a=recvonly" in held.body, held
        on_hold = time.time()
        await asyncio.sleep(1.0)
        resumed = await agent.reinvite(dialog, media, "sendrecv")
        assert resumed.status == 200 and b"a=sendrecv" in resumed.body, resumed
        talking_again = time.time()
        await asyncio.sleep(TALK_SECONDS)
        assert (await agent.bye(dialog)).status == 200  # the agent hangs up
        await wait_phone(caller, "call_ended")  # and so does the queue, for the caller
    finally:
        await agent.close_all()
        await asyncio.to_thread(stop_phones, caller)

    calling = caller.seen("call_state", lambda e: e["state"] == "CALLING")[0]["wall"]
    report(
        "queue -> browser agent",
        calling,
        agent_invited=times.invite,
        agent_answered=times.answered,
        agent_connected=media.connected_at,
    )
    assert_browser_heard(media, talking + 0.5, PHONE_TONE, until=on_hold)
    assert media.frames_between(on_hold + 0.3, talking_again) == 0  # nothing while it holds
    assert_browser_heard(media, talking_again + 0.5, PHONE_TONE)
    heard, rate = read_samples(tmp_path / f"{caller_number}-heard.wav")
    tail = heard[-2 * rate :]  # the end of the call: the agent talking after the resume
    assert abs(peak_frequency(tail, rate) - BROWSER_TONE) <= TOLERANCE_HZ
    row = await asyncio.to_thread(
        pbxd.wait_cdr,
        lambda r: r["caller"] == caller_number and r["callee"] == QUEUE,
        10,
    )
    assert row["disposition"] == "ANSWERED", row
    legs = await asyncio.to_thread(pbxd.api, "GET", f"/api/v1/cdr/{row['call_id']}/legs")
    [details] = legs["details"]
    assert (details["queue"], details["agent"]) == (QUEUE, agent_number), legs


async def test_the_browser_holds_and_resumes_a_call_with_a_phone(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    """Between a browser and a phone the B2BUA passes the hold on: the phone is re-INVITEd.

    (The pjsua2 peer re-creates its stream on each re-INVITE without re-attaching its WAV
    player and recorder, so its audio after the resume cannot be checked here; the queue
    test above checks audio after a browser's resume.)"""
    browser_number, browser_secret = new_extension()
    phone_number, _ = new_extension()
    browser = await registered_browser(pbxd, browser_number, browser_secret)
    phone = phone_for(pbxd, tmp_path, phone_number)
    media = browser.new_media()
    try:
        await start_phone(phone)
        dialog = await browser.call(phone_number, media, CallTimes())
        await asyncio.wait_for(media.connected.wait(), 5)
        await wait_phone(phone, "call_state", confirmed)
        talking = time.time()
        await asyncio.sleep(1.5)

        held = await browser.reinvite(dialog, media, "sendonly")
        assert held.status == 200 and b"a=recvonly" in held.body, held
        await wait_last_media_state(phone, "remote_hold")  # held too, as between phones
        on_hold = time.time()
        await asyncio.sleep(1.0)
        resumed = await browser.reinvite(dialog, media, "sendrecv")
        assert resumed.status == 200 and b"a=sendrecv" in resumed.body, resumed
        await wait_last_media_state(phone, "active")
        resumed_at = time.time()
        await asyncio.sleep(1.0)
        assert (await browser.bye(dialog)).status == 200
        await wait_phone(phone, "call_ended")
    finally:
        await browser.close_all()
        await asyncio.to_thread(stop_phones, phone)

    assert_browser_heard(media, talking + 0.5, PHONE_TONE, until=on_hold)
    assert media.frames_between(on_hold + 0.3, resumed_at) == 0  # nothing while it holds
    assert media.frames_between(resumed_at + 0.2, resumed_at + 1.0) > 25  # the stream is back
    row = await cdr_row(pbxd, browser_number, phone_number)
    assert (row["disposition"], row["hangup_side"]) == ("ANSWERED", "caller"), row


async def test_the_browser_joins_a_conference_room_with_a_phone(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    """A leg pbxd answers itself (the room) answers the browser's WebRTC offer: it hears the
    room's prompt, then the phone that joins."""
    browser_number, browser_secret = new_extension()
    phone_number, _ = new_extension()
    await asyncio.to_thread(pbxd.api, "POST", "/api/v1/conferences", {"number": ROOM}, 201)
    browser = await registered_browser(pbxd, browser_number, browser_secret)
    phone = phone_for(pbxd, tmp_path, phone_number)
    media = browser.new_media()
    times = CallTimes()
    try:
        await start_phone(phone)
        dialog = await browser.call(ROOM, media, times)
        assert is_webrtc_offer(dialog.remote_sdp), dialog.remote_sdp
        await asyncio.wait_for(media.connected.wait(), 5)
        await asyncio.sleep(1.5)  # alone in the room: its prompt
        phone.call(ROOM)
        await wait_phone(phone, "call_state", confirmed)
        talking = time.time()
        await asyncio.sleep(TALK_SECONDS)
        assert (await browser.bye(dialog)).status == 200
        phone.hangup()
        await wait_phone(phone, "call_ended")
    finally:
        await browser.close_all()
        await asyncio.to_thread(stop_phones, phone)

    report("browser -> room", times.invite, answered=times.answered, connected=media.connected_at)
    prompt, rate = media.audio_between(media.connected_at + 0.2, media.connected_at + 1.4)
    assert float((prompt**2).mean()) ** 0.5 > 0.01, "the browser did not hear the room's prompt"
    assert_browser_heard(media, talking + 0.5, PHONE_TONE)
    assert_phone_heard(tmp_path / f"{phone_number}-heard.wav", BROWSER_TONE)


async def test_a_busy_phone_sends_the_browser_to_voicemail_on_the_same_connection(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    """The browser hears pbxd's ringback over the connection its early answer set up; the
    phone is busy, the mailbox takes the call on that same connection (the same answer)."""
    browser_number, browser_secret = new_extension()
    box = str(int(browser_number) + 5000)
    await asyncio.to_thread(
        pbxd.api,
        "POST",
        "/api/v1/extensions",
        {"number": box, "name": "Desk", "secret": f"Pw{box}secret", "voicemail": True},
        201,
    )
    browser = await registered_browser(pbxd, browser_number, browser_secret)
    owner = phone_for(pbxd, tmp_path, box, ring_seconds=30.0)  # 180, then busy (below)
    media = browser.new_media()
    times = CallTimes()
    await start_phone(owner)
    calling = asyncio.get_running_loop().create_task(browser.call(box, media, times))
    try:
        await wait_phone(owner, "incoming_call")
        await asyncio.wait_for(media.connected.wait(), 5)
        await asyncio.sleep(1.2)  # ringback: 450 Hz for 1 s, then 4 s of silence
        owner.hangup(486)
        dialog = await asyncio.wait_for(calling, 10)
        greeted = time.time()
        await asyncio.sleep(2.0)
        assert (await browser.bye(dialog)).status == 200
    finally:
        calling.cancel()
        await browser.close_all()
        await asyncio.to_thread(stop_phones, owner)

    assert times.early_answer is not None
    ringback, rate = media.audio_between(media.connected_at + 0.2, times.early_answer + 0.95)
    assert abs(peak_frequency(ringback, rate) - 450) <= TOLERANCE_HZ
    # The mailbox answered with the answer the browser had: no second ICE/DTLS set-up.
    assert media.pc.remoteDescription.sdp.encode() == dialog.remote_sdp
    greeting, rate = media.audio_between(greeted, greeted + 1.5)
    assert float((greeting**2).mean()) ** 0.5 > 0.01, "the browser heard no greeting"
    row = await asyncio.to_thread(
        pbxd.wait_cdr, lambda r: r["caller"] == browser_number and r["callee"] == box, 10
    )
    assert row["disposition"] == "ANSWERED", row  # the mailbox answered


async def test_a_browser_whose_connection_dies_is_hung_up_with_a_cdr(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    """The tab's peer connection closes (DTLS close_notify) while its WebSocket stays: pbxd
    sees the WebRTC endpoint fail, hangs both sides up and writes the CDR row."""
    browser_number, browser_secret = new_extension()
    phone_number, _ = new_extension()
    browser = await registered_browser(pbxd, browser_number, browser_secret)
    phone = phone_for(pbxd, tmp_path, phone_number)
    media = browser.new_media()
    try:
        await start_phone(phone)
        dialog = await browser.call(phone_number, media, CallTimes())
        await asyncio.wait_for(media.connected.wait(), 5)
        await wait_phone(phone, "call_state", confirmed)
        await asyncio.sleep(0.5)
        closed_at = time.time()
        await media.close()
        bye = await browser.answer_bye(timeout=5)
        assert bye.call_id == dialog.call_id
        ended = await wait_phone(phone, "call_ended", timeout=5)
    finally:
        await browser.close_all()
        await asyncio.to_thread(stop_phones, phone)
    print(f"\nWEBRTC dead media: phone hung up {1000 * (ended['wall'] - closed_at):.0f} ms after")
    assert ended["wall"] - closed_at < 3.0, ended
    row = await cdr_row(pbxd, browser_number, phone_number)
    assert (row["disposition"], row["hangup_side"]) == ("ANSWERED", "system"), row


async def test_the_browser_calls_a_queue_and_reaches_a_phone_agent(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    """A WebRTC caller in a queue: its agent (a phone) is rung with any codec, since the
    caller's leg has no RTP codec to prefer, and they hear each other."""
    browser_number, browser_secret = new_extension()
    agent_number, _ = new_extension()
    pbxd.api("POST", "/api/v1/queues", {"number": "682", "members": [agent_number],
                                        "wrapup": 0}, expect=201)  # fmt: skip
    browser = await registered_browser(pbxd, browser_number, browser_secret)
    agent = phone_for(pbxd, tmp_path, agent_number, ring_seconds=0.3)
    media = browser.new_media()
    try:
        await start_phone(agent)
        await browser.call("682", media, CallTimes())
        await asyncio.wait_for(media.connected.wait(), 5)
        await wait_phone(agent, "call_state", confirmed)
        talking = time.time()
        await asyncio.sleep(TALK_SECONDS)
        agent.hangup()
        await browser.answer_bye()
        await wait_phone(agent, "call_ended")
    finally:
        await browser.close_all()
        await asyncio.to_thread(stop_phones, agent)
    assert_browser_heard(media, talking + 0.5, PHONE_TONE)
    assert_phone_heard(tmp_path / f"{agent_number}-heard.wav", BROWSER_TONE)
    row = await cdr_row(pbxd, browser_number, "682")
    assert row["disposition"] == "ANSWERED", row
