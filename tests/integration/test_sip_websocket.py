"""SIP over WebSocket (RFC 7118) at /ws of a real pbxd: register, call both ways, misbehave.

The WebSocket peer is tests/integration/peers/ws_sip.py: a browser-like SIP UA (subprotocol
`sip`, `.invalid` Contact, `SIP/2.0/WS`) with plain RTP/AVP PCMU on a UDP socket. The other
end of every call is a pjsua2 phone on UDP. Each side sends a tone and the other side's
recording must hold that frequency.

Sources: 127.0.0.1 for the good clients; the brute-force test runs from 127.0.0.3 and the
connection-limit test from 127.0.0.4, so that their blocks and limits touch no other test.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from .audio import dominant_frequency, peak_frequency, rms, wav_seconds, write_tone
from .pbxd_process import PbxdProcess, check_cdr_row
from .peers.pjsua_phone import PjsuaPhone, stop_phones
from .peers.ws_sip import RtpEndpoint, WsSipClient, sdp, sdp_audio_target

pytestmark = pytest.mark.peer

TALK_SECONDS = 3.0
TOLERANCE_HZ = 15.0
WS_TONE = 440.0
PHONE_TONE = 1000.0


def ws_url(pbxd: PbxdProcess) -> str:
    return f"ws://{pbxd.host}:{pbxd.http_port}/ws"


def ws_client(pbxd: PbxdProcess, number: str = "0", secret: str = "", **options) -> WsSipClient:
    return WsSipClient(ws_url(pbxd), number, secret, pbxd.sip_address, **options)


async def status(pbxd: PbxdProcess) -> dict:
    return await asyncio.to_thread(pbxd.api, "GET", "/api/v1/system/status")


async def options_answered(client: WsSipClient) -> int:
    """Status of an OPTIONS sent over the client's WebSocket."""
    call_id = f"options-{id(client)}-{len(client.raw)}"
    aor = f"<sip:{client.user}@{client.domain}>"
    await client.send(
        client.build_request(
            "OPTIONS",
            f"sip:{client.domain}",
            from_=f"{aor};tag=o1",
            to=aor,
            call_id=call_id,
            cseq=1,
        )
    )
    return (await client.final_response(call_id, 1)).status


def assert_tone(heard, expected: float, who: str) -> None:
    """`heard`: a WAV path or (samples at 8 kHz)."""
    if isinstance(heard, Path):
        assert wav_seconds(heard) >= TALK_SECONDS - 1.0, f"{who}: recording too short"
        assert rms(heard, skip_seconds=0.5) > 0.05, f"{who}: {heard} is silent"
        frequency = dominant_frequency(heard, skip_seconds=0.5)
    else:
        assert heard.size >= (TALK_SECONDS - 1.0) * 8000, f"{who}: {heard.size} samples only"
        tail = heard[4000:]
        assert float((tail**2).mean()) ** 0.5 > 0.05, f"{who}: silence"
        frequency = peak_frequency(tail, 8000)
    assert abs(frequency - expected) <= TOLERANCE_HZ, f"{who} heard {frequency:.1f} Hz"


async def registered_client(pbxd: PbxdProcess, number: str, secret: str) -> WsSipClient:
    client = await ws_client(pbxd, number, secret).connect()
    response = await client.register(expires=300)
    assert response.status == 200, client.raw
    # the 200 lists our binding, with the WebSocket contact as sent (RFC 7118 section 5.2)
    contacts = [c.uri.serialize() for c in response.contacts]
    assert client.contact_uri in [c.split(";ob")[0] for c in contacts], contacts
    assert client.finals[0] == 401, client.finals  # digest applies here as everywhere
    return client


# -- calls --------------------------------------------------------------------------------------


async def test_register_then_a_udp_phone_calls_the_websocket_client(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    ws_number, ws_secret = new_extension()
    phone_number, _ = new_extension()  # secret: Pw<number>secret
    client = await registered_client(pbxd, ws_number, ws_secret)
    rtp = await RtpEndpoint.open()
    phone = PjsuaPhone(
        phone_number,
        f"Pw{phone_number}secret",
        registrar=pbxd.sip_address,
        play=write_tone(tmp_path / "phone-tone.wav", PHONE_TONE, 2.0),
        record=tmp_path / "phone-heard.wav",
        log_dir=tmp_path,
    )
    try:
        state = await status(pbxd)
        assert state["registrations"] >= 1, state
        clients = state["websocket"]["clients"]
        assert [ws_number] in [c["registered"] for c in clients], state["websocket"]

        await asyncio.to_thread(phone.start)
        await asyncio.to_thread(phone.wait_registered)
        phone.call(ws_number)

        invite = await client.request_of("INVITE")
        # RFC 7118 section 5.2: sent to the .invalid contact, over our WebSocket
        assert (invite.uri.user, invite.uri.host) == (ws_number, client.via_host), invite.uri
        assert invite.uri.params.get("transport") == "ws", invite.uri
        assert invite.top_via.transport == "WS", invite.top_via
        host, port, payload_types = sdp_audio_target(invite.body)
        assert "0" in payload_types, invite.body
        dialog = await client.answer(invite, sdp(rtp.port))
        rtp.start_tone((host, port), WS_TONE)

        await asyncio.to_thread(
            phone.wait_for, "call_state", 10, lambda e: e["state"] == "CONFIRMED"
        )
        await asyncio.sleep(TALK_SECONDS)
        bye_answer = await client.bye(dialog)
        assert bye_answer.status == 200
        await asyncio.to_thread(phone.wait_for, "call_ended", 10)
    finally:
        rtp.close()
        client.close()
        await asyncio.to_thread(stop_phones, phone)

    assert_tone(tmp_path / "phone-heard.wav", WS_TONE, "the pjsua phone")
    assert_tone(rtp.heard(), PHONE_TONE, "the WebSocket client")
    row = await asyncio.to_thread(pbxd.wait_call_cdr, phone_number, ws_number)
    check_cdr_row(row)
    assert row["disposition"] == "ANSWERED", row
    assert row["hangup_side"] == "callee", row


async def test_the_websocket_client_calls_a_udp_phone(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    ws_number, ws_secret = new_extension()
    phone_number, _ = new_extension()
    client = await registered_client(pbxd, ws_number, ws_secret)
    rtp = await RtpEndpoint.open()
    phone = PjsuaPhone(
        phone_number,
        f"Pw{phone_number}secret",
        registrar=pbxd.sip_address,
        play=write_tone(tmp_path / "phone-tone.wav", PHONE_TONE, 2.0),
        record=tmp_path / "phone-heard.wav",
        log_dir=tmp_path,
    )
    try:
        await asyncio.to_thread(phone.start)
        await asyncio.to_thread(phone.wait_registered)
        before = len(client.finals)
        dialog = await client.invite(phone_number, sdp(rtp.port))
        # no bypass: the INVITE over the WebSocket was challenged like on UDP
        assert client.finals[before:] == [407, 200], client.finals
        host, port, _ = sdp_audio_target(dialog.remote_sdp)
        rtp.start_tone((host, port), WS_TONE)
        await asyncio.to_thread(
            phone.wait_for, "call_state", 10, lambda e: e["state"] == "CONFIRMED"
        )
        await asyncio.sleep(TALK_SECONDS)
        phone.hangup()
        bye = await client.answer_bye()  # the phone hangs up: the BYE reaches us over WS
        assert bye.call_id == dialog.call_id
        await asyncio.to_thread(phone.wait_for, "call_ended", 10)
    finally:
        rtp.close()
        client.close()
        await asyncio.to_thread(stop_phones, phone)

    assert_tone(tmp_path / "phone-heard.wav", WS_TONE, "the pjsua phone")
    assert_tone(rtp.heard(), PHONE_TONE, "the WebSocket client")
    row = await asyncio.to_thread(pbxd.wait_call_cdr, ws_number, phone_number)
    check_cdr_row(row)
    assert row["disposition"] == "ANSWERED", row
    assert row["hangup_side"] == "callee", row


async def test_a_call_to_a_client_whose_websocket_closed_fails_at_once(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    """The binding outlives its connection (until it expires); a call to it must not ring
    into the void for Timer B's 32 s."""
    ws_number, ws_secret = new_extension()
    phone_number, _ = new_extension()
    client = await registered_client(pbxd, ws_number, ws_secret)
    client.close()
    phone = PjsuaPhone(
        phone_number, f"Pw{phone_number}secret", registrar=pbxd.sip_address, log_dir=tmp_path
    )
    try:
        await asyncio.to_thread(phone.start)
        await asyncio.to_thread(phone.wait_registered)
        for _ in range(50):  # the close reaches pbxd asynchronously
            clients = (await status(pbxd))["websocket"]["clients"]
            if [ws_number] not in [c["registered"] for c in clients]:
                break
            await asyncio.sleep(0.05)
        started = asyncio.get_running_loop().time()
        phone.call(ws_number)
        ended = await asyncio.to_thread(phone.wait_for, "call_ended", 10)
        took = asyncio.get_running_loop().time() - started
    finally:
        await asyncio.to_thread(stop_phones, phone)
    assert took < 5.0, (took, ended)
    assert ended["code"] >= 400 and not phone.seen(
        "call_state", lambda e: e["state"] == "CONFIRMED"
    ), ended
    assert (await status(pbxd))["websocket"].get("undeliverable", 0) >= 1


# -- bad input ----------------------------------------------------------------------------------


async def test_garbage_and_broken_messages_are_dropped_or_answered_400(pbxd: PbxdProcess) -> None:
    client = await ws_client(pbxd).connect()
    try:
        before = (await status(pbxd))["sip"].get("unparsable", 0)
        await client.send("hello, this is not SIP")
        await client.send(b"\x00\xff\xfe binary garbage")
        assert await client.silence(0.5) == []
        assert (await status(pbxd))["sip"].get("unparsable", 0) == before + 2
        # the connection survives garbage (one message per frame: nothing to resynchronise)
        assert await options_answered(client) == 200

        aor = f"<sip:x@{client.domain}>"
        common = {"from_": f"{aor};tag=t1", "to": aor, "cseq": 1}
        # framing: no Content-Length is fine (RFC 7118 section 5.1) ...
        await client.send(
            client.build_request(
                "OPTIONS",
                f"sip:{client.domain}",
                call_id="no-length",
                content_length=False,
                **common,
            )
        )
        assert (await client.final_response("no-length", 1)).status == 200
        # ... but one that promises more than the message holds is a 400, as on UDP
        short = client.build_request(
            "OPTIONS", f"sip:{client.domain}", call_id="short", body="v=0\r\n", **common
        ).replace("Content-Length: 5", "Content-Length: 500")
        await client.send(short)
        assert (await client.final_response("short", 1)).status == 400
        # a request line with two spaces (RFC 4475 section 3.1.2.8): 400, the message still
        # names who to answer
        broken = client.build_request(
            "OPTIONS", f"sip:{client.domain}", call_id="bad-line", **common
        ).replace("OPTIONS sip:", "OPTIONS  sip:", 1)
        await client.send(broken)
        assert (await client.final_response("bad-line", 1)).status == 400
        assert await options_answered(client) == 200
    finally:
        client.close()


async def test_an_oversize_message_closes_the_connection(pbxd: PbxdProcess) -> None:
    client = await ws_client(pbxd).connect()
    try:
        try:
            await client.send("A" * (1 << 20))
        except Exception:  # noqa: BLE001 - the server may close before the write ends
            pass
        assert await client.read_raw(5.0) is None
        assert client.close_code == 1009  # RFC 6455: message too big
    finally:
        client.close()
    other = await ws_client(pbxd).connect()  # the endpoint itself serves on
    try:
        assert await options_answered(other) == 200
    finally:
        other.close()


async def test_handshake_refusals(pbxd: PbxdProcess) -> None:
    origin = f"http://{pbxd.host}:{pbxd.http_port}"
    same = await ws_client(pbxd, origin=origin).connect()  # the console's own page
    same.close()
    with pytest.raises(HTTPClientError) as refused:
        await ws_client(pbxd, origin="https://evil.example").connect()
    assert refused.value.code == 403
    with pytest.raises(HTTPClientError) as refused:
        await ws_client(pbxd, subprotocols=("chat",)).connect()
    assert refused.value.code == 400


async def test_wrong_password_is_refused_then_the_source_is_locked_out(
    pbxd: PbxdProcess, new_extension
) -> None:
    number, secret = new_extension()
    attacker = await ws_client(pbxd, number, secret, source_ip="127.0.0.3").connect()
    try:
        answers = []
        for attempt in range(12):
            try:
                response = await attacker.register(password=f"guess-{attempt}", timeout=1.0)
                answers.append(response.status)
            except AssertionError:  # no answer at all
                answers.append(None)
            if answers[-1] is None:
                break
        # each attempt: 401 challenge, then 403 for the wrong answer; the tenth blocks
        assert answers[:10] == [403] * 10, (answers, attacker.finals)
        assert answers[10:] == [None], answers
        assert attacker.finals[:2] == [401, 403], attacker.finals
    finally:
        attacker.close()
    with pytest.raises(HTTPClientError) as refused:  # blocked sources cannot reconnect
        await ws_client(pbxd, source_ip="127.0.0.3").connect()
    assert refused.value.code == 403
    honest = await registered_client(pbxd, number, secret)  # 127.0.0.1 is not blocked
    honest.close()


async def test_connection_limit_per_ip_while_udp_calls_go_on(
    pbxd: PbxdProcess, tmp_path: Path, new_extension
) -> None:
    opened: list[WsSipClient] = []
    refused: list[int] = []
    caller_number, _ = new_extension()
    callee_number, _ = new_extension()
    caller = PjsuaPhone(
        caller_number,
        f"Pw{caller_number}secret",
        registrar=pbxd.sip_address,
        log_dir=tmp_path,
        hangup_after=1.0,
    )
    callee = PjsuaPhone(
        callee_number, f"Pw{callee_number}secret", registrar=pbxd.sip_address, log_dir=tmp_path
    )
    try:
        for _ in range(25):
            try:
                opened.append(await ws_client(pbxd, source_ip="127.0.0.4").connect())
            except HTTPClientError as exc:
                refused.append(exc.code)
        assert (len(opened), refused) == (20, [503] * 5)
        assert (await status(pbxd))["websocket"]["connections"] >= 20
        # one from elsewhere still gets in
        local = await ws_client(pbxd).connect()
        opened.append(local)
        assert await options_answered(local) == 200

        # meanwhile UDP phones call each other as usual
        for phone in (callee, caller):
            await asyncio.to_thread(phone.start)
            await asyncio.to_thread(phone.wait_registered)
        caller.call(callee_number)
        await asyncio.to_thread(
            caller.wait_for, "call_state", 10, lambda e: e["state"] == "CONFIRMED"
        )
        ended = await asyncio.to_thread(caller.wait_for, "call_ended", 10)
        assert ended["measured_seconds"] >= 0.5, ended
    finally:
        for client in opened:
            client.close()
        await asyncio.to_thread(stop_phones, caller, callee)
    # closed connections leave the table (and free the IP's quota)
    for _ in range(50):
        if (await status(pbxd))["websocket"]["connections"] == 0:
            break
        await asyncio.sleep(0.1)
    assert (await status(pbxd))["websocket"]["connections"] == 0
    again = await ws_client(pbxd, source_ip="127.0.0.4").connect()
    again.close()
