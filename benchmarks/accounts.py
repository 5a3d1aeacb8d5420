"""SIP accounts used by the benchmarks and the sipp injection files that carry them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

FIRST_NUMBER = 100000


@dataclass(frozen=True)
class Account:
    number: str
    secret: str

    def __post_init__(self) -> None:
        if not self.number.isdigit():
            raise ValueError(f"extension number must be digits, got {self.number!r}")
        if any(c in self.secret for c in " ;]\n"):
            raise ValueError("secret must not contain spaces, ';', ']' or newlines (sipp fields)")

    def sipp_auth(self) -> str:
        """sipp's keyword, expanded when the field is injected into a message."""
        return f"[authentication username={self.number} password={self.secret}]"


def make_accounts(count: int, *, first: int = FIRST_NUMBER) -> list[Account]:
    # Mixed case, digits and a symbol so that a password policy in pbxd accepts them.
    return [Account(str(n), f"Bench-{n}-pw") for n in range(first, first + count)]


def _write(path: Path, rows: Iterable[Sequence[str]]) -> Path:
    # sipp injection file: first line is the read order, then ';'-separated fields.
    lines = ["SEQUENTIAL"] + [";".join(row) + ";" for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_register_csv(path: Path, accounts: Sequence[Account]) -> Path:
    """Fields: 0 number, 1 secret, 2 [authentication ...]."""
    return _write(path, ((a.number, a.secret, a.sipp_auth()) for a in accounts))


def write_call_csv(path: Path, callers: Sequence[Account], callees: Sequence[Account]) -> Path:
    """Fields: 0 caller number, 1 callee number, 2 caller's [authentication ...].

    Every caller calls every callee in turn, so calls spread over all of them.
    """
    rows = [
        (caller.number, callee.number, caller.sipp_auth())
        for caller in callers
        for callee in callees
    ]
    return _write(path, rows)
