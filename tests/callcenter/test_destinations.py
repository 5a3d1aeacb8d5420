"""Destinations `kind:target` and the loop check of a configuration."""

from __future__ import annotations

import pytest

from pbxd.callcenter.destinations import (
    Destination,
    DestinationError,
    Edge,
    describe_loop,
    find_automatic_loop,
    missing_targets,
    parse_destination,
)


def test_parse_and_print() -> None:
    assert parse_destination("queue:600") == Destination("queue", "600")
    assert parse_destination(" hangup ") == Destination("hangup")
    assert str(Destination("ivr", "main")) == "ivr:main"
    assert str(parse_destination("survey")) == "survey"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "kind:target"),
        ("fax:1", "unknown destination kind 'fax'"),
        ("queue", "queue needs a target"),
        ("hangup:now", "hangup takes no target"),
        ("queue:6 00", "letters, digits"),
    ],
)
def test_bad_destinations_are_named(text: str, message: str) -> None:
    with pytest.raises(DestinationError, match=message):
        parse_destination(text)


def edge(source: str, dest: str, chosen: bool = False, why: str = "") -> Edge:
    kind, _, name = source.partition(":")
    return Edge((kind, name), parse_destination(dest), chosen, why)


def test_caller_chosen_cycles_are_fine_automatic_ones_are_not() -> None:
    menus = [edge("ivr:main", "ivr:sales", chosen=True), edge("ivr:sales", "ivr:main", True)]
    assert find_automatic_loop(menus) is None
    overflow = [
        edge("queue:600", "ring_group:700", why="overflow"),
        edge("ring_group:700", "queue:600", why="no answer"),
        edge("ivr:main", "queue:600", chosen=True),
    ]
    cycle = find_automatic_loop(overflow)
    assert cycle == [("queue", "600"), ("ring_group", "700"), ("queue", "600")]
    assert describe_loop(cycle) == (
        "a caller would go round for ever: queue 600 -> ring_group 700 -> queue 600"
    )


def test_a_timeout_that_goes_back_to_the_same_menu_is_a_loop() -> None:
    assert find_automatic_loop([edge("ivr:main", "ivr:main", why="timeout")]) is not None


def test_missing_targets_are_reported() -> None:
    edges = [edge("ivr:main", "queue:601", chosen=True, why="key 1"), edge("queue:600", "hangup")]
    problems = missing_targets(edges, {"queue": ["600"], "ivr": ["main"]})
    assert [message for _, message in problems] == ["ivr main key 1: no queue:601 exists"]
