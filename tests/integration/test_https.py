"""HTTPS and wss:// of a real pbxd started with --https-port (issue 7).

Every client here trusts the device certificate pbxd made at first start
(`<data dir>/tls/device.crt`) and nothing else, with host name checks on, as a browser does
once an administrator imported that certificate: what passes proves pbxd serves that file.
The SIP side is the browser-like WebSocket UA of peers/ws_sip.py over TLS, with plain RTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from .audio import peak_frequency
from .pbxd_process import HttpsPbxd, PbxdError, check_cdr_row
from .peers.ws_sip import RtpEndpoint, WsSipClient, sdp, sdp_audio_target

TALK_SECONDS = 2.0
TONE_A, TONE_B = 440.0, 1000.0
TOLERANCE_HZ = 15.0


@pytest.fixture(scope="module")
def pbxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsPbxd]:
    """This module's daemon (replaces conftest's: the same, plus HTTPS)."""
    daemon = HttpsPbxd(tmp_path_factory.mktemp("pbxd")).start()
    try:
        yield daemon
    finally:
        code = daemon.stop()
    if code != 0:
        pytest.fail(f"pbxd ended with exit status {code} on SIGTERM\n{daemon.log_tail()}")


def fetch(
    url: str,
    context: ssl.SSLContext,
    *,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, Any]:
    """(status, JSON body or None, headers) of one HTTPS request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            status, raw, answer_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, answer_headers = exc.code, exc.read(), exc.headers
    return status, json.loads(raw) if raw else None, answer_headers


# -- HTTPS ------------------------------------------------------------------------------------


def test_health_over_https_with_the_device_certificate_as_the_only_trust(pbxd: HttpsPbxd):
    context = pbxd.trusting()
    assert fetch(pbxd.https_url("/api/v1/health"), context)[:2] == (200, {"status": "ok"})
    # the name localhost is in the certificate too
    url = pbxd.https_url("/api/v1/health", host="localhost")
    assert fetch(url, context)[:2] == (200, {"status": "ok"})
    # plain HTTP goes on beside it
    assert pbxd.api("GET", "/api/v1/health") == {"status": "ok"}


def test_a_client_that_does_not_trust_the_device_certificate_is_refused(pbxd: HttpsPbxd):
    with pytest.raises(urllib.error.URLError) as refused:
        fetch(pbxd.https_url("/api/v1/health"), ssl.create_default_context())
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError), refused.value


def test_the_key_is_private_and_system_info_shows_the_served_certificate(pbxd: HttpsPbxd):
    key = pbxd.data_dir / "tls" / "device.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    info = pbxd.api("GET", "/api/v1/system/info")
    served = ssl.get_server_certificate(
        (pbxd.host, pbxd.https_port),
        ca_certs=str(pbxd.certificate),
    )
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(served)).digest().hex(":").upper()
    assert info["tls"]["fingerprint_sha256"] == fingerprint, info["tls"]
    assert info["tls"]["https_port"] == pbxd.https_port
    assert {"localhost", "127.0.0.1"} <= set(info["tls"]["alt_names"]), info["tls"]
    assert info["tls"]["self_signed"] is True
    assert info["hostname"] and "interfaces" in info  # the other fields stay


def test_a_browser_session_over_https(pbxd: HttpsPbxd):
    context = pbxd.trusting()
    origin = {"Origin": pbxd.https_url("")}
    credentials = {"username": "admin", "password": pbxd.admin_password}
    status, body, headers = fetch(
        pbxd.https_url("/api/v1/auth/session"), context, method="POST", body=credentials,
        headers=origin,
    )  # fmt: skip
    assert status == 200, body
    cookies: SimpleCookie = SimpleCookie()
    for header in headers.get_all("Set-Cookie"):
        cookies.load(header)
    session = cookies["pbxd_session"]
    assert session["secure"] and session["httponly"], headers.get_all("Set-Cookie")
    sent = {**origin, "Cookie": f"pbxd_session={session.value}"}
    status, me, _ = fetch(pbxd.https_url("/api/v1/auth/session"), context, headers=sent)
    assert status == 200 and me["user"]["username"] == "admin", me
    # a write from this origin with the CSRF token passes; from the HTTP port's origin not
    extension = {"number": "3901", "name": "Over HTTPS", "secret": "https-secret-1"}
    write = {**sent, "X-CSRF-Token": body["csrf_token"]}
    url = pbxd.https_url("/api/v1/extensions")
    assert fetch(url, context, method="POST", body=extension, headers=write)[0] == 201
    foreign = {**write, "Origin": pbxd.base_url}
    extension["number"] = "3902"
    status, refused, _ = fetch(url, context, method="POST", body=extension, headers=foreign)
    assert (status, refused["error"]["code"]) == (403, "csrf"), refused


# -- SIP over wss:// --------------------------------------------------------------------------


def wss_client(pbxd: HttpsPbxd, number: str, secret: str, **options) -> WsSipClient:
    return WsSipClient(
        pbxd.https_url("/ws").replace("https:", "wss:", 1),
        number,
        secret,
        pbxd.sip_address,
        ssl_context=pbxd.trusting(),
        **options,
    )


async def registered(pbxd: HttpsPbxd, number: str, secret: str) -> WsSipClient:
    client = await wss_client(pbxd, number, secret).connect()
    response = await client.register(expires=300)
    assert response.status == 200, client.raw
    assert client.finals == [401, 200], client.finals  # digest applies over TLS too
    contacts = [c.uri.serialize().split(";ob")[0] for c in response.contacts]
    assert client.contact_uri in contacts, contacts
    return client


async def test_register_over_wss(pbxd: HttpsPbxd, new_extension):
    number, secret = new_extension()
    client = await registered(pbxd, number, secret)
    try:
        state = await asyncio.to_thread(pbxd.api, "GET", "/api/v1/system/status")
        mine = [c for c in state["websocket"]["clients"] if c["registered"] == [number]]
        assert len(mine) == 1 and mine[0]["peer"].startswith("WSS"), state["websocket"]
    finally:
        client.close()


async def test_a_foreign_page_cannot_open_wss(pbxd: HttpsPbxd, new_extension):
    number, secret = new_extension()
    client = wss_client(pbxd, number, secret, origin="https://evil.example")
    with pytest.raises(HTTPClientError) as refused:
        await client.connect()
    assert refused.value.code == 403


async def test_a_call_between_two_wss_clients(pbxd: HttpsPbxd, new_extension):
    """pbxd reaches the callee over its TLS connection (Via SIP/2.0/WSS, the HTTPS port) and
    bridges the audio both ways."""
    (a_number, a_secret), (b_number, b_secret) = new_extension(), new_extension()
    caller = await registered(pbxd, a_number, a_secret)
    callee = await registered(pbxd, b_number, b_secret)
    rtp_a, rtp_b = await RtpEndpoint.open(), await RtpEndpoint.open()
    try:
        calling = asyncio.ensure_future(caller.invite(b_number, sdp(rtp_a.port)))
        invite = await callee.request_of("INVITE")
        via = invite.top_via
        assert (via.transport, via.port) == ("WSS", pbxd.https_port), via
        await callee.answer(invite, sdp(rtp_b.port, session=2))
        dialog = await asyncio.wait_for(calling, 15)
        rtp_a.start_tone(sdp_audio_target(dialog.remote_sdp)[:2], TONE_A)
        rtp_b.start_tone(sdp_audio_target(invite.body)[:2], TONE_B)
        await asyncio.sleep(TALK_SECONDS)
        assert (await caller.bye(dialog)).status == 200
        await callee.answer_bye()
    finally:
        rtp_a.close()
        rtp_b.close()
        caller.close()
        callee.close()
    for endpoint, expected, who in ((rtp_b, TONE_A, "callee"), (rtp_a, TONE_B, "caller")):
        heard = endpoint.heard()
        assert heard.size >= (TALK_SECONDS - 1.0) * 8000, f"{who}: {heard.size} samples"
        frequency = peak_frequency(heard[4000:], 8000)
        assert abs(frequency - expected) <= TOLERANCE_HZ, f"{who} heard {frequency:.1f} Hz"
    row = await asyncio.to_thread(pbxd.wait_call_cdr, a_number, b_number)
    check_cdr_row(row)
    assert row["disposition"] == "ANSWERED", row


# -- start-up -----------------------------------------------------------------------------------


def test_the_certificate_is_kept_across_restarts(tmp_path: Path):
    daemon = HttpsPbxd(tmp_path / "first")
    with daemon:
        crt = (daemon.data_dir / "tls" / "device.crt").read_bytes()
        first = daemon.api("GET", "/api/v1/system/info")["tls"]["fingerprint_sha256"]
    with daemon:
        again = daemon.api("GET", "/api/v1/system/info")["tls"]["fingerprint_sha256"]
        assert fetch(daemon.https_url("/api/v1/health"), daemon.trusting())[0] == 200
    assert again == first
    assert (daemon.data_dir / "tls" / "device.crt").read_bytes() == crt


def test_a_broken_certificate_stops_pbxd_with_a_clear_message(tmp_path: Path):
    daemon = HttpsPbxd(tmp_path / "broken")
    tls = daemon.data_dir / "tls"
    tls.mkdir(parents=True)
    (tls / "device.crt").write_text("this is not a certificate\n")
    (tls / "device.key").write_text("nor is this a key\n")
    with pytest.raises(PbxdError, match="exited with 1"):
        daemon.start()
    log = daemon.log_text()
    assert "pbxd: cannot start:" in log and "device.crt is not a PEM certificate" in log, log
    assert (tls / "device.crt").read_text() == "this is not a certificate\n"  # left alone
