"""Where a call can be sent, and the check that a configuration sends nobody round in circles.

A destination is written `kind:target` in the API and the database, e.g. `queue:600`,
`ivr:main`, `extension:1001`, `hangup`. Every object a caller can reach (extension, ring group,
IVR, queue, conference room, voicemail box, survey) is a node; every destination an object
names (an IVR key, a queue's overflow, a time condition's "closed" branch ...) is an edge.

A cycle is only refused when nothing on it waits for a person: IVR -> IVR -> IVR without a
key press in between is fine (the caller chooses each step), but a queue overflowing into a
ring group that overflows back into the queue moves the caller with nobody choosing, for ever.
So edges carry `chosen=True` when a caller's key press takes them; a cycle made only of
automatic edges is a loop (`find_automatic_loop`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# kind -> does it name a target?
KINDS: dict[str, bool] = {
    "extension": True,
    "ring_group": True,
    "ivr": True,
    "queue": True,
    "conference": True,
    "voicemail": True,  # the mailbox of an extension or of a queue, by number
    "survey": False,  # the satisfaction survey, then hang up
    "hangup": False,
}


class DestinationError(ValueError):
    """A destination that cannot be parsed, or a configuration that loops."""


@dataclass(frozen=True, order=True)
class Destination:
    kind: str
    target: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind

    @property
    def node(self) -> tuple[str, str]:
        return (self.kind, self.target)


HANGUP = Destination("hangup")


def parse_destination(text: str) -> Destination:
    """'queue:600' -> Destination('queue', '600'); raises DestinationError with the reason."""
    if not isinstance(text, str) or not text.strip():
        raise DestinationError("a destination is 'kind:target', e.g. 'queue:600' or 'hangup'")
    kind, _, target = text.strip().partition(":")
    if kind not in KINDS:
        raise DestinationError(f"unknown destination kind {kind!r}; one of {', '.join(KINDS)}")
    if KINDS[kind] and not target:
        raise DestinationError(f"{kind} needs a target: '{kind}:<number or name>'")
    if not KINDS[kind] and target:
        raise DestinationError(f"{kind} takes no target")
    if len(target) > 64 or any(not (c.isalnum() or c in "-_.") for c in target):
        raise DestinationError(f"target {target!r}: letters, digits, '-', '_', '.' only")
    return Destination(kind, target)


@dataclass(frozen=True)
class Edge:
    source: tuple[str, str]
    destination: Destination
    chosen: bool = False  # taken by a caller's key press (IVR keys), not automatically
    why: str = ""  # e.g. "overflow", "key 3", "closed": for the error message


def missing_targets(
    edges: Iterable[Edge], existing: Mapping[str, Iterable[str]]
) -> list[tuple[Edge, str]]:
    """Edges whose target does not exist: (edge, message). `existing` maps kind -> names."""
    known = {kind: set(names) for kind, names in existing.items()}
    problems = []
    for edge in edges:
        dest = edge.destination
        if KINDS.get(dest.kind) and dest.target not in known.get(dest.kind, set()):
            problems.append((edge, f"{_label(edge.source)} {edge.why}: no {dest} exists".strip()))
    return problems


def find_automatic_loop(edges: Iterable[Edge]) -> list[tuple[str, str]] | None:
    """A cycle of automatic edges (the nodes, first repeated at the end), or None."""
    graph: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for edge in edges:
        if not edge.chosen:
            graph.setdefault(edge.source, []).append(edge.destination.node)
    state: dict[tuple[str, str], int] = {}  # 1 on the current path, 2 done
    path: list[tuple[str, str]] = []

    def visit(node: tuple[str, str]) -> list[tuple[str, str]] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if state.get(start) is None:
            found = visit(start)
            if found:
                return found
    return None


def describe_loop(cycle: list[tuple[str, str]]) -> str:
    return "a caller would go round for ever: " + " -> ".join(_label(n) for n in cycle)


def _label(node: tuple[str, str]) -> str:
    kind, target = node
    return f"{kind} {target}".strip()
