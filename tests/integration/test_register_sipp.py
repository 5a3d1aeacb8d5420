"""Registration with sipp as the phone: digest auth, bindings, refusal, over UDP and TCP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess
from .sipp import SippCall, SippResult, free_port, run_sipp

pytestmark = pytest.mark.peer

# sipp 3.6 answers only the first challenge, and only MD5: offer it first (both offered)
PBXD_ARGS = ["--digest-algorithms", "MD5,SHA-256"]

TRANSPORTS = ["udp", "tcp"]


def register(
    pbxd: PbxdProcess,
    workdir: Path,
    scenario: str,
    user: str,
    password: str,
    transport: str = "udp",
    local_port: int | None = None,
    expires: int = 120,
) -> SippResult:
    return run_sipp(
        SippCall(
            scenario,
            workdir,
            local_port or free_port(),
            remote=(pbxd.host, pbxd.sip_port),
            transport=transport,
            user=user,
            password=password,
            keys={"expires": expires},
            timeout=10,
        )
    )


def finals(result: SippResult) -> list[int]:
    return [code for code in result.statuses("REGISTER") if code >= 200]


def binding_for(result: SippResult, port: int) -> str | None:
    """The Contact of the final 200 that points at our sipp (127.0.0.1:<port>)."""
    final = result.final_response("REGISTER")
    assert final is not None, result.report()
    mine = [c for c in final.header_all("Contact") if f"@127.0.0.1:{port}" in c]
    assert len(mine) <= 1, f"one binding per contact expected, got {mine}"
    return mine[0] if mine else None


def challenge_algorithms(result: SippResult) -> set[str]:
    """Digest algorithms the 401s offered (no algorithm parameter means MD5, RFC 2617 3.2.1)."""
    algorithms = set()
    for message in result.received("REGISTER"):
        if message.status != 401:
            continue
        for challenge in message.header_all("WWW-Authenticate"):
            found = re.search(r'algorithm="?([A-Za-z0-9-]+)', challenge)
            algorithms.add(found.group(1).upper() if found else "MD5")
    return algorithms


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_register_with_digest_gets_200_and_a_binding(
    pbxd: PbxdProcess, new_extension, tmp_path: Path, transport: str
) -> None:
    number, secret = new_extension()
    port = free_port()
    result = register(pbxd, tmp_path, "register", number, secret, transport, port, expires=120)

    assert result.ok, result.report()
    assert finals(result) == [401, 200], result.report()
    # the contract: the registrar offers both MD5 and SHA-256 (RFC 8760)
    assert {"MD5", "SHA-256"} <= challenge_algorithms(result), result.report()
    contact = binding_for(result, port)
    assert contact is not None, f"200 OK does not list our binding\n{result.report()}"
    # RFC 3261 10.3 step 8: each binding carries its expiry; never more than asked for
    expires = re.search(r";\s*expires=(\d+)", contact)
    assert expires, f"binding without expires: {contact}"
    assert 0 < int(expires.group(1)) <= 120


def test_register_with_expires_zero_removes_the_binding(
    pbxd: PbxdProcess, new_extension, tmp_path: Path
) -> None:
    number, secret = new_extension()
    port = free_port()
    first = register(pbxd, tmp_path / "add", "register", number, secret, local_port=port)
    assert first.ok and binding_for(first, port), first.report()

    removed = register(
        pbxd, tmp_path / "remove", "register", number, secret, local_port=port, expires=0
    )
    assert removed.ok, removed.report()
    assert binding_for(removed, port) is None, removed.report()

    query = register(pbxd, tmp_path / "query", "register_query", number, secret)
    assert query.ok, query.report()
    assert query.final_response("REGISTER").header_all("Contact") == [], query.report()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_register_with_wrong_password_is_refused_and_binds_nothing(
    pbxd: PbxdProcess, new_extension, tmp_path: Path, transport: str
) -> None:
    number, secret = new_extension()
    refused = register(
        pbxd, tmp_path / "wrong", "register_wrong_password", number, secret + "-wrong", transport
    )

    # the scenario itself fails on any 2xx; the registrar may re-challenge or forbid
    assert refused.ok, refused.report()
    assert refused.final_status("REGISTER") in (401, 403), refused.report()

    # RFC 3261 10.2.3: a REGISTER without Contact lists the bindings: there must be none
    query = register(pbxd, tmp_path / "query", "register_query", number, secret, transport)
    assert query.ok, query.report()
    assert query.final_response("REGISTER").header_all("Contact") == [], query.report()


def test_register_of_an_unknown_user_is_refused(
    pbxd: PbxdProcess, unused_number: str, tmp_path: Path
) -> None:
    refused = register(pbxd, tmp_path, "register_wrong_password", unused_number, "anything")

    assert refused.ok, refused.report()
    assert refused.final_status("REGISTER") in (401, 403), refused.report()
