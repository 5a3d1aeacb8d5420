"""Registrar and location service (RFC 3261 section 10.3), pure: the clock comes in as `now`.

Authentication happens before `register()` is called; this module applies the binding rules.
NAT: a binding remembers the address the REGISTER came from (`source`), and calls are sent
there, because a phone behind NAT writes its private address into Contact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .errors import BadRequest, IntervalTooBrief, ParseError, ServerInternalError
from .headers import NameAddr
from .message import Request
from .uri import SipUri, parse_digits


@dataclass(frozen=True)
class Binding:
    aor: str
    contact: NameAddr
    source: Any  # the transport Peer the REGISTER came from; requests go there
    expires_at: float
    call_id: str
    cseq: int
    q: float = 1.0
    user_agent: str = ""
    registered_at: float = 0.0

    def expires_in(self, now: float) -> int:
        return max(0, round(self.expires_at - now))

    @property
    def uri(self) -> SipUri:
        assert isinstance(self.contact.uri, SipUri)
        return self.contact.uri


@dataclass(frozen=True)
class RegistrarPolicy:
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_contacts: int = 5


class Registrar:
    def __init__(self, policy: RegistrarPolicy | None = None):
        self.policy = policy or RegistrarPolicy()
        self._bindings: dict[str, list[Binding]] = {}

    def register(self, aor: str, request: Request, source: Any, now: float) -> list[Binding]:
        """Apply a REGISTER for `aor`; return the bindings now current (for the 200 response)."""
        call_id, cseq = request.call_id, request.cseq.seq
        current = self._current(aor, now)
        if request.is_wildcard_contact:
            # Section 10.3 step 6: '*' only alone and only with Expires: 0.
            if request.expires != 0 or len(request.headers.get_list("Contact")) != 1:
                raise BadRequest("Contact: * needs Expires: 0 and no other contact")
            for binding in current:
                self._check_order(binding, call_id, cseq)
            self._bindings.pop(aor, None)
            return []
        header_expires = request.expires
        user_agent = request.headers.get("User-Agent", "") or ""
        updated = list(current)
        for contact in request.contacts:
            if not isinstance(contact.uri, SipUri):
                raise BadRequest("only SIP contacts can be registered")
            expires = self._expires_for(contact, header_expires)
            existing = next((b for b in updated if b.uri.equivalent(contact.uri)), None)
            if existing is not None:
                self._check_order(existing, call_id, cseq)
                updated.remove(existing)
            if expires == 0:
                continue
            q = _q_value(contact)
            updated.append(
                Binding(
                    aor,
                    _without_expires(contact),
                    source,
                    now + expires,
                    call_id,
                    cseq,
                    q,
                    user_agent,
                    now,
                )
            )
        if len(updated) > self.policy.max_contacts:
            # Keep the newest contacts: a phone that re-boots with a new port should not be
            # refused because its stale binding has not expired yet.
            updated.sort(key=lambda b: b.registered_at)
            updated = updated[-self.policy.max_contacts :]
        if updated:
            self._bindings[aor] = updated
        else:
            self._bindings.pop(aor, None)
        return self.lookup(aor, now)

    def _expires_for(self, contact: NameAddr, header_expires: int | None) -> int:
        raw = contact.params.get("expires")
        if raw is not None:
            try:
                expires = parse_digits(raw, "expires parameter", 2**32 - 1)
            except ParseError as exc:
                raise BadRequest(exc.detail) from exc
        elif header_expires is not None:
            expires = header_expires
        else:
            expires = self.policy.default_expires
        if 0 < expires < self.policy.min_expires:
            raise IntervalTooBrief(
                f"expires {expires} below {self.policy.min_expires}",
                headers=[("Min-Expires", str(self.policy.min_expires))],
            )
        return min(expires, self.policy.max_expires)

    @staticmethod
    def _check_order(binding: Binding, call_id: str, cseq: int) -> None:
        # Section 10.3 step 7: an out-of-order REGISTER from the same Call-ID is aborted.
        if binding.call_id == call_id and cseq <= binding.cseq:
            raise ServerInternalError("REGISTER out of order (CSeq not increasing)")

    def lookup(self, aor: str, now: float) -> list[Binding]:
        """Live bindings of an AOR, best first (highest q, then most recently registered)."""
        bindings = self._current(aor, now)
        return sorted(bindings, key=lambda b: (-b.q, -b.registered_at))

    def _current(self, aor: str, now: float) -> list[Binding]:
        bindings = [b for b in self._bindings.get(aor, []) if b.expires_at > now]
        if bindings:
            self._bindings[aor] = bindings
        else:
            self._bindings.pop(aor, None)
        return bindings

    def remove_aor(self, aor: str) -> list[Binding]:
        return self._bindings.pop(aor, [])

    def expire(self, now: float) -> list[Binding]:
        """Drop every expired binding; return them (for logs and presence)."""
        expired = []
        for aor in list(self._bindings):
            live = [b for b in self._bindings[aor] if b.expires_at > now]
            expired += [b for b in self._bindings[aor] if b.expires_at <= now]
            if live:
                self._bindings[aor] = live
            else:
                del self._bindings[aor]
        return expired

    def next_expiry(self) -> float | None:
        times = [b.expires_at for bindings in self._bindings.values() for b in bindings]
        return min(times, default=None)

    def count(self) -> int:
        return sum(len(b) for b in self._bindings.values())

    def aors(self) -> list[str]:
        return sorted(self._bindings)


def _q_value(contact: NameAddr) -> float:
    raw = contact.params.get("q")
    if raw is None:
        return 1.0
    try:
        q = float(raw)
    except ValueError as exc:
        raise BadRequest(f"bad q value {raw!r}") from exc
    if not 0.0 <= q <= 1.0:
        raise BadRequest(f"q value out of range {raw!r}")
    return q


def _without_expires(contact: NameAddr) -> NameAddr:
    return replace(contact, params={k: v for k, v in contact.params.items() if k != "expires"})
