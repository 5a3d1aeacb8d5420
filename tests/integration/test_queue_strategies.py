"""Queue strategies over several calls with real agents: who takes each call.

Two pjsua2 agents answer every call after half a second and hang up a second later; a sipp
caller places the calls one after the other and waits for the agent's hang-up. The CDR legs
say which agent took each call; the order must be the one strategies.py documents.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones
from .sipp import place_call

pytestmark = pytest.mark.peer

# sipp 3.6 answers only the first challenge, and only MD5
PBXD_ARGS = ["--digest-algorithms", "MD5,SHA-256"]
CALLS = 4


@pytest.mark.parametrize(
    ("strategy", "queue", "agents", "expected"),
    [
        # round robin remembering the last answerer: the next call starts after him
        ("rrmemory", "611", ("3601", "3602"), ["3601", "3602", "3601", "3602"]),
        # every call from the first member (who answers each time)
        ("linear", "612", ("3611", "3612"), ["3611", "3611", "3611", "3611"]),
    ],
)
def test_strategy_decides_who_takes_each_call(
    pbxd: PbxdProcess,
    new_extension,
    tmp_path: Path,
    strategy: str,
    queue: str,
    agents: tuple[str, ...],
    expected: list[str],
) -> None:
    for agent in agents:
        pbxd.create_extension(agent, f"Secret-{agent}")
    pbxd.api(
        "POST",
        "/api/v1/queues",
        {
            "number": queue,
            "strategy": strategy,
            "members": [{"extension": a, "penalty": 0} for a in agents],
            "timeout": 5,
            "retry": 1,
            "wrapup": 0,
        },
        expect=201,
    )
    phones = [
        PjsuaPhone(a, f"Secret-{a}", registrar=pbxd.sip_address, log_dir=tmp_path,
                   ring_seconds=0.5, hangup_after=1.0)
        for a in agents
    ]  # fmt: skip
    caller = new_extension()
    try:
        for phone in phones:
            phone.start()
            phone.wait_registered()
        for n in range(CALLS):
            result = place_call(pbxd, tmp_path / f"call{n}", caller, queue, "uac_call_wait_bye")
            assert result.ok, result.report()
    finally:
        stop_phones(*phones)
    rows = pbxd.cdr(number=caller[0])
    ours = sorted((r for r in rows if r["callee"] == queue), key=lambda r: r["start"])
    assert len(ours) == CALLS, rows
    took = [
        pbxd.api("GET", f"/api/v1/cdr/{row['call_id']}/legs")["details"][0]["agent"] for row in ours
    ]
    assert took == expected, took
