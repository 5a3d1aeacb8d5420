"""The whole call-center configuration as one dial plan and one destination graph.

Numbers: extensions, queues, ring groups, conference rooms and IVRs share one plan, so a
number names one thing. Destinations: every object that sends callers somewhere (queue
overflow, ring-group failover, inbound routes, IVR keys and timeouts) is an edge of the graph
in pbxd/callcenter/destinations.py; a change is refused when an edge points at nothing or when
it closes a cycle of automatic edges. Deleting an object that is still a target, or an
extension that is still a member, is refused naming who uses it.

Reads the database directly; the configuration services call it inside their write
transactions, so the checks and the write see one state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from ..callcenter.destinations import (
    Edge,
    describe_loop,
    find_automatic_loop,
    missing_targets,
    parse_destination,
)
from ..db.models import (
    Conference,
    Extension,
    InboundRoute,
    Ivr,
    Queue,
    QueueMember,
    RingGroup,
    RingGroupMember,
)
from .configbase import InUse, LoopRefused
from .errors import Conflict, ValidationError

Node = tuple[str, str]
# An edge with the request field it comes from (to name the field in an error).
FieldEdge = tuple[str, Edge]

REPEAT = "repeat"  # an IVR key that plays the menu again: no edge


# --- the edges each kind of object contributes ------------------------------------------------


def _edge(source: Node, field: str, text: str | None, *, why: str, chosen: bool = False):
    if text is None:
        return []
    return [(field, Edge(source, parse_destination(text), chosen=chosen, why=why))]


def queue_edges(number: str, overflow: str | None) -> list[FieldEdge]:
    return _edge(("queue", number), "overflow", overflow, why="overflow")


def ring_group_edges(number: str, failover: str | None) -> list[FieldEdge]:
    return _edge(("ring_group", number), "failover", failover, why="failover")


def route_edges(did: str, destination: str, closed: str | None) -> list[FieldEdge]:
    source = ("route", did)
    return _edge(source, "destination", destination, why="destination") + _edge(
        source, "closed_destination", closed, why="closed_destination"
    )


def ivr_edges(
    name: str, keys: Mapping[str, str], timeout_dest: str | None, invalid_dest: str | None
) -> list[FieldEdge]:
    source = ("ivr", name)
    edges: list[FieldEdge] = []
    for key, target in sorted(keys.items()):
        if target != REPEAT:
            # A key press is the caller's choice: such edges never make an automatic loop.
            edges += _edge(source, "keys", target, why=f"key {key}", chosen=True)
    edges += _edge(source, "timeout_destination", timeout_dest, why="timeout_destination")
    edges += _edge(source, "invalid_destination", invalid_dest, why="invalid_destination")
    return edges


def _label(node: Node) -> str:
    return f"{node[0]} {node[1]}"


class DialPlan:
    # --- numbers ------------------------------------------------------------------------------

    def owner_of_number(self, number: str) -> str | None:
        """'queue 600', 'ivr main' ... for the object dialled as `number`, or None."""
        if Extension.select().where(Extension.number == number).exists():
            return f"extension {number}"
        kinds = ((Queue, "queue"), (RingGroup, "ring group"), (Conference, "conference"))
        for model, kind in kinds:
            if model.select().where(model.number == number).exists():
                return f"{kind} {number}"
        ivr = Ivr.get_or_none(Ivr.number == number)
        if ivr is not None:
            return f"ivr {ivr.name}"
        return None

    def require_number_free(self, number: str, *, field: str = "number") -> None:
        owner = self.owner_of_number(number)
        if owner is not None:
            raise Conflict(f"{field}: {number} is already the number of {owner}", field=field)

    def require_extensions(self, field: str, numbers: Iterable[str]) -> None:
        numbers = list(numbers)
        query = Extension.select(Extension.number).where(Extension.number.in_(numbers))
        known = {row[0] for row in query.tuples()}
        for number in numbers:
            if number not in known:
                raise ValidationError(f"{field}: no extension {number} exists", field=field)

    # --- the graph ----------------------------------------------------------------------------

    def existing_targets(self) -> dict[str, set[str]]:
        extensions = {row[0] for row in Extension.select(Extension.number).tuples()}
        queues = {row[0] for row in Queue.select(Queue.number).tuples()}
        return {
            "extension": extensions,
            "queue": queues,
            "ring_group": {row[0] for row in RingGroup.select(RingGroup.number).tuples()},
            "conference": {row[0] for row in Conference.select(Conference.number).tuples()},
            "ivr": {row[0] for row in Ivr.select(Ivr.name).tuples()},
            "voicemail": extensions | queues,  # the box of an extension or of a queue
        }

    def edges(self) -> list[Edge]:
        """Every edge of the stored configuration."""
        found: list[FieldEdge] = []
        for number, overflow in Queue.select(Queue.number, Queue.overflow).tuples():
            found += queue_edges(number, overflow)
        for number, failover in RingGroup.select(RingGroup.number, RingGroup.failover).tuples():
            found += ring_group_edges(number, failover)
        for did, destination, closed in InboundRoute.select(
            InboundRoute.did, InboundRoute.destination, InboundRoute.closed_destination
        ).tuples():
            found += route_edges(did, destination, closed)
        for name, keys, timeout_dest, invalid_dest in Ivr.select(
            Ivr.name, Ivr.keys, Ivr.timeout_destination, Ivr.invalid_destination
        ).tuples():
            found += ivr_edges(name, json.loads(keys), timeout_dest, invalid_dest)
        return [edge for _, edge in found]

    def check_edges(
        self,
        new: list[FieldEdge],
        *,
        replacing: Iterable[Node] = (),
        adding: Iterable[Node] = (),
    ) -> None:
        """Refuse `new` edges (those of one object being written) when one points at nothing
        or when, with the rest of the configuration, they close an automatic loop.

        `replacing`: the nodes whose stored edges `new` replaces (the object's old self);
        `adding`: nodes the write creates (an object may name itself, e.g. voicemail:600).
        """
        existing = self.existing_targets()
        for kind, target in adding:
            existing.setdefault(kind, set()).add(target)
            if kind == "queue":
                existing["voicemail"].add(target)
        problems = missing_targets([edge for _, edge in new], existing)
        if problems:
            bad_edge, message = problems[0]  # "queue 600 overflow: no ring_group:700 exists"
            field = next(f for f, e in new if e is bad_edge)
            raise ValidationError(message, field=field)
        dropped = set(replacing)
        edges = [edge for edge in self.edges() if edge.source not in dropped]
        edges += [edge for _, edge in new]
        cycle = find_automatic_loop(edges)
        if cycle is not None:
            steps = set(zip(cycle, cycle[1:], strict=False))
            field = next(
                (f for f, e in new if (e.source, e.destination.node) in steps and not e.chosen),
                new[0][0] if new else None,
            )
            prefix = f"{field}: " if field else ""
            raise LoopRefused(prefix + describe_loop(cycle), field=field)

    # --- who uses what ------------------------------------------------------------------------

    def users_of(self, node: Node) -> list[str]:
        """Who points at `node` ('ivr main key 1', 'queue 600 overflow' ...), or is it a
        member of ('member of queue 600')."""
        kind, target = node
        wanted = {node}
        if kind in ("extension", "queue"):
            wanted.add(("voicemail", target))  # its mailbox goes with it
        users = [
            f"{_label(edge.source)} {edge.why}"
            for edge in self.edges()
            if edge.destination.node in wanted and edge.source != node
        ]
        if kind == "extension":
            queues = (
                Queue.select(Queue.number)
                .join(QueueMember)
                .where(QueueMember.extension == target)
                .tuples()
            )
            users += [f"member of queue {row[0]}" for row in queues]
            groups = (
                RingGroup.select(RingGroup.number)
                .join(RingGroupMember)
                .where(RingGroupMember.extension == target)
                .tuples()
            )
            users += [f"member of ring group {row[0]}" for row in groups]
        return sorted(set(users))

    def require_unused(self, node: Node) -> None:
        users = self.users_of(node)
        if users:
            raise InUse(f"{_label(node)} is in use: {', '.join(users)}")

    # ExtensionService guard (see services/extensions.py)

    def check_number_free(self, number: str) -> None:
        self.require_number_free(number)

    def check_extension_unused(self, number: str) -> None:
        self.require_unused(("extension", number))
