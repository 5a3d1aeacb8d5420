"""What the queue end-to-end tests share: agents' phones, queues, and the story of each call.

A test starts pjsua2 phones for its agents and its caller, places calls into a queue, then
reads back what a supervisor would: the CDR rows of the caller's calls to the queue, the agent
who took each one (its call-center detail), and the call's rows in the queue event log, from
which `QueueCall.rung` lists the agents in the order the queue rang them.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .pbxd_process import PbxdError, PbxdProcess, to_epoch
from .peers.pjsua_phone import PjsuaPhone

PHONE_LIFETIME = 150.0  # a phone child exits by itself after this long: longer than any test


def secret(number: str) -> str:
    return f"Secret-{number}"


def phone(
    pbxd: PbxdProcess, tmp_path: Path, number: str, *, create: bool = True, **options: Any
) -> PjsuaPhone:
    """A phone registered as `number` (the extension is created unless `create` is False).

    Options are PjsuaPhone's: `ring_seconds` (then it answers), `answer_code=0` (rings until
    the caller gives up), `hangup_after` (seconds after the answer), `play`, `record` ...
    """
    if create:
        pbxd.create_extension(number, secret(number))
    options.setdefault("timeout", PHONE_LIFETIME)
    return PjsuaPhone(
        number, secret(number), registrar=pbxd.sip_address, log_dir=tmp_path, **options
    )


def start(*phones: PjsuaPhone) -> None:
    for p in phones:
        p.start()
    for p in phones:
        p.wait_registered()


def create_queue(
    pbxd: PbxdProcess, number: str, strategy: str, members: list[Any], **options: Any
) -> None:
    """A queue with short attempts: agents ring `timeout` 3 s, no retry pause, no wrap-up.

    `members`: extensions (penalty 0) or (extension, penalty) pairs, in configured order.
    """
    listed = [m if isinstance(m, tuple) else (m, 0) for m in members]
    config = {
        "number": number,
        "strategy": strategy,
        "members": [{"extension": ext, "penalty": penalty} for ext, penalty in listed],
        "timeout": 3,
        "retry": 0,
        "wrapup": 0,
    }
    config.update(options)
    pbxd.api("POST", "/api/v1/queues", config, expect=201)


def call_queue(caller: PjsuaPhone, queue: str, timeout: float = 30.0) -> dict[str, Any]:
    """One call into `queue`, answered by the queue at once, until the far end hangs up
    (the agent's phone hangs up by itself); returns the caller's `call_ended` event."""
    caller.call(queue)
    caller.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
    return caller.wait_for("call_ended", timeout=timeout)


def is_state(name: str):
    return lambda e: e["state"] == name


@dataclass(frozen=True)
class QueueCall:
    """One caller's passage through a queue, as the history tells it."""

    call_id: str
    start: float  # epoch seconds
    disposition: str
    agent: str | None  # who took the call (the call-center detail of its CDR row)
    parties: list[str]  # the far end of each of its CDR legs: the caller, the agent
    events: list[dict[str, Any]]  # its queue event log rows, oldest first

    @property
    def rung(self) -> list[str]:
        """The agents the queue rang for this caller, in order (one RING row each)."""
        return [e["agent"] for e in self.events if e["event"] == "RING"]

    @property
    def story(self) -> list[tuple[str, str | None]]:
        return [(e["event"], e["agent"]) for e in self.events]

    def time_of(self, event: str, agent: str | None = None) -> float:
        """Epoch time of the first `event` row (of `agent`, when given)."""
        for e in self.events:
            if e["event"] == event and (agent is None or e["agent"] == agent):
                return epoch(e["time"])
        raise AssertionError(f"call {self.call_id}: no {event} {agent or ''} in {self.story}")


def epoch(value: Any) -> float:
    moment = to_epoch(value)
    assert moment is not None, value
    return moment


def queue_events(pbxd: PbxdProcess, **filters: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode(filters)
    return pbxd.api("GET", f"/api/v1/queue-events?{query}")["items"]


def queue_calls(
    pbxd: PbxdProcess, caller: str, queue: str, count: int, timeout: float = 10.0
) -> list[QueueCall]:
    """The `count` calls from `caller` to `queue`, oldest first, once all are in the history
    (a call's CDR row, details and queue events are written together when it ends)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [r for r in pbxd.cdr(number=caller) if r["callee"] == queue]
        if len(rows) >= count:
            break
        if time.monotonic() > deadline:
            raise PbxdError(f"{len(rows)} of {count} calls {caller} -> {queue} in the CDR: {rows}")
        time.sleep(0.2)
    assert len(rows) == count, rows
    calls = []
    for row in sorted(rows, key=lambda r: epoch(r["start"])):
        legs = pbxd.api("GET", f"/api/v1/cdr/{row['call_id']}/legs")
        details = legs["details"]
        assert len(details) == 1 and details[0]["queue"] == queue, legs
        calls.append(
            QueueCall(
                call_id=row["call_id"],
                start=epoch(row["start"]),
                disposition=row["disposition"],
                agent=details[0]["agent"],
                parties=[leg["party"] for leg in legs["items"]],
                events=queue_events(pbxd, call_id=row["call_id"]),
            )
        )
    return calls


def rung_phones(*phones: PjsuaPhone) -> dict[str, int]:
    """How many INVITEs each phone has received so far."""
    return {p.user: len(p.seen("incoming_call")) for p in phones}


def wait_until(what: str, check, timeout: float = 10.0, interval: float = 0.2):
    """Poll `check()` until it returns something truthy (returned); AssertionError naming
    `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last: {value!r})")
        time.sleep(interval)
