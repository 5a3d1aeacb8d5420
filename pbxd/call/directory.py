"""Who is on a call, by the call's id in the history (the CDR's call_id), while it is up and a
little after: what the agent page needs before the history is written (the screen pop by call
id, the wrap-up right after hanging up). Pure and bounded: the newest CAPACITY calls."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

CAPACITY = 1000  # calls remembered; a 10-seat center has a few hundred a day


@dataclass
class CallParties:
    customer: str  # the other party's number: the caller of an inbound call, the callee else
    extensions: set[str] = field(default_factory=set)  # our extensions on the call


class CallDirectory:
    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._calls: OrderedDict[str, CallParties] = OrderedDict()

    def add(self, call_id: str, customer: str, *extensions: str) -> None:
        """`extensions` take part in the call `call_id` with `customer` (ringing counts: the
        agent's page pops the call while it rings)."""
        parties = self._calls.get(call_id)
        if parties is None:
            parties = self._calls[call_id] = CallParties(customer)
        parties.extensions.update(e for e in extensions if e)
        self._calls.move_to_end(call_id)
        while len(self._calls) > self.capacity:
            self._calls.popitem(last=False)

    def get(self, call_id: str) -> CallParties | None:
        return self._calls.get(call_id)

    def other_party(self, call_id: str, extension: str) -> str | None:
        """The number `extension` talks to in the call: the customer, or for the customer's
        own extension (an agent who called another one) the other extension."""
        parties = self._calls.get(call_id)
        if parties is None or extension not in parties.extensions:
            return None
        if extension != parties.customer:
            return parties.customer
        others = sorted(parties.extensions - {extension})
        return others[0] if others else None

    def extensions(self, call_id: str) -> frozenset[str]:
        parties = self._calls.get(call_id)
        return frozenset(parties.extensions) if parties is not None else frozenset()
