"""The live call directory: who takes part in a call before its history is written."""

from __future__ import annotations

from pbxd.call.directory import CallDirectory


def test_parties_accumulate_and_the_oldest_calls_are_forgotten() -> None:
    calls = CallDirectory(capacity=2)
    calls.add("a", "13800138000", "3101")
    calls.add("a", "13800138000", "3102", "")  # a transfer: a second agent
    calls.add("b", "13900139000", "3103")
    assert calls.extensions("a") == {"3101", "3102"}
    assert calls.get("a").customer == "13800138000"
    calls.add("c", "1001", "1002")
    assert calls.get("a") is None and calls.extensions("a") == frozenset()
    assert calls.extensions("c") == {"1002"}


def test_the_other_party_is_the_customer_or_the_other_extension() -> None:
    calls = CallDirectory()
    calls.add("q", "13800138000", "3101")  # a queue call rung to agent 3101
    calls.add("d", "3101", "3101", "3102")  # 3101 called 3102 directly
    assert calls.other_party("q", "3101") == "13800138000"
    assert calls.other_party("d", "3102") == "3101"
    assert calls.other_party("d", "3101") == "3102"
    assert calls.other_party("q", "3999") is None  # not his call
