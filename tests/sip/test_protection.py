"""Failure tracking / blocking and SIP scanner detection."""

from __future__ import annotations

import pytest

from pbxd.sip.protection import SCANNER_USER_AGENTS, FailureTracker, is_scanner

ATTACKER = "203.0.113.7"
PHONE = "192.168.1.50"


def test_defaults_block_after_ten_failures_in_a_minute_for_ten_minutes() -> None:
    tracker = FailureTracker()
    triggers = [tracker.record_failure(ATTACKER, now=100.0 + i) for i in range(10)]
    assert triggers == [False] * 9 + [True]
    assert tracker.is_blocked(ATTACKER, now=109.0)
    assert tracker.blocked(now=109.0) == [(ATTACKER, 109.0 + 600.0)]
    assert tracker.blocked_until(ATTACKER, now=109.0) == 709.0
    assert tracker.is_blocked(ATTACKER, now=708.9)
    assert not tracker.is_blocked(ATTACKER, now=709.0)
    assert tracker.blocked(now=709.0) == []


def test_failures_while_blocked_do_not_retrigger_or_extend() -> None:
    tracker = FailureTracker(threshold=3, window=10.0, block_for=60.0)
    assert [tracker.record_failure(ATTACKER, t) for t in (0.0, 1.0, 2.0)] == [False, False, True]
    assert [tracker.record_failure(ATTACKER, t) for t in (3.0, 4.0, 5.0, 6.0)] == [False] * 4
    assert tracker.blocked() == [(ATTACKER, 62.0)]


def test_failures_spread_wider_than_the_window_do_not_block() -> None:
    tracker = FailureTracker(threshold=10, window=60.0)
    # One failure every 7 s: never 10 inside any 60 s window.
    assert not any(tracker.record_failure(PHONE, now=7.0 * i) for i in range(100))
    assert not tracker.is_blocked(PHONE, now=700.0)


def test_sliding_window_counts_only_recent_failures() -> None:
    tracker = FailureTracker(threshold=3, window=10.0)
    assert not tracker.record_failure(ATTACKER, 0.0)
    assert not tracker.record_failure(ATTACKER, 5.0)
    assert not tracker.record_failure(ATTACKER, 10.0)  # the one at 0.0 left the window
    assert tracker.record_failure(ATTACKER, 11.0)


def test_counting_starts_afresh_after_a_block_ends() -> None:
    tracker = FailureTracker(threshold=2, window=10.0, block_for=30.0)
    assert tracker.record_failure(ATTACKER, 0.0) is False
    assert tracker.record_failure(ATTACKER, 1.0) is True
    assert tracker.record_failure(ATTACKER, 40.0) is False
    assert not tracker.is_blocked(ATTACKER, 40.0)
    assert tracker.record_failure(ATTACKER, 41.0) is True


def test_success_forgets_pending_failures_but_not_a_block() -> None:
    tracker = FailureTracker(threshold=3, window=60.0)
    tracker.record_failure(PHONE, 0.0)
    tracker.record_failure(PHONE, 1.0)
    tracker.record_success(PHONE)
    assert not tracker.record_failure(PHONE, 2.0)
    assert not tracker.record_failure(PHONE, 3.0)
    assert tracker.record_failure(PHONE, 4.0)
    tracker.record_success(PHONE)
    assert tracker.is_blocked(PHONE, 5.0)


def test_sources_are_counted_separately() -> None:
    tracker = FailureTracker(threshold=2)
    tracker.record_failure(ATTACKER, 0.0)
    tracker.record_failure(PHONE, 0.5)
    assert tracker.record_failure(ATTACKER, 1.0)
    assert not tracker.is_blocked(PHONE, 1.0)


def test_unblock_by_hand() -> None:
    tracker = FailureTracker(threshold=1)
    assert tracker.record_failure(ATTACKER, 0.0)
    assert tracker.unblock(ATTACKER)
    assert not tracker.is_blocked(ATTACKER, 1.0)
    assert not tracker.unblock(ATTACKER)


def test_ipv6_counted_per_64_and_mapped_ipv4_as_ipv4() -> None:
    tracker = FailureTracker(threshold=3)
    assert not tracker.record_failure("2001:db8:1:2::1", 0.0)
    assert not tracker.record_failure("2001:db8:1:2:aaaa::2", 1.0)
    assert tracker.record_failure("[2001:DB8:1:2:ffff:ffff:ffff:ffff]", 2.0)
    assert tracker.is_blocked("2001:db8:1:2::99", 3.0)
    assert not tracker.is_blocked("2001:db8:1:3::1", 3.0)
    assert tracker.blocked() == [("2001:db8:1:2::/64", 602.0)]

    assert not tracker.record_failure("::ffff:198.51.100.9", 0.0)
    assert not tracker.record_failure("198.51.100.9", 0.0)
    assert tracker.record_failure("::ffff:198.51.100.9", 0.0)
    assert tracker.is_blocked("198.51.100.9", 1.0)


def test_exempt_networks_are_never_blocked() -> None:
    tracker = FailureTracker(threshold=1, exempt=("10.0.0.0/8", "2001:db8::/32"))
    assert not tracker.record_failure("10.1.2.3", 0.0)
    assert not tracker.record_failure("2001:db8::5", 0.0)
    assert not tracker.is_blocked("10.1.2.3", 0.5)
    assert tracker.record_failure("11.1.2.3", 1.0)


def test_memory_is_bounded_under_a_flood_of_sources() -> None:
    tracker = FailureTracker(threshold=5, max_sources=100)
    for i in range(5000):
        tracker.record_failure(f"198.18.{i // 250}.{i % 250}", now=i * 0.001)
    assert len(tracker) <= 100
    # The most recent sources are the ones kept.
    for _ in range(4):
        tracker.record_failure("198.18.19.249", now=5.0)
    assert tracker.is_blocked("198.18.19.249", now=5.0)


def test_blocks_are_bounded_too() -> None:
    tracker = FailureTracker(threshold=1, block_for=600.0, max_sources=50)
    for i in range(1000):
        assert tracker.record_failure(f"198.19.{i // 200}.{i % 200}", now=float(i))
    assert len(tracker.blocked()) == 50
    # Evicted are those ending soonest; the latest offenders stay blocked.
    assert tracker.is_blocked("198.19.4.199", now=1000.0)
    assert not tracker.is_blocked("198.19.0.0", now=1000.0)


def test_aged_out_sources_are_shed() -> None:
    tracker = FailureTracker(threshold=5, window=10.0)
    for i in range(50):
        tracker.record_failure(f"198.51.100.{i}", now=0.0)
    for i in range(50):
        tracker.record_failure(f"203.0.113.{i}", now=100.0)
    assert len(tracker) < 100


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0},
        {"window": 0.0},
        {"block_for": -1.0},
        {"max_sources": 0},
        {"ipv6_prefix": 0},
        {"exempt": ("not a network",)},
    ],
)
def test_constructor_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FailureTracker(**kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Scanners


@pytest.mark.parametrize(
    "user_agent",
    [
        "friendly-scanner",
        "Friendly-Scanner",
        "sipvicious",
        "SIPVicious PRO 1.0",
        "svwar.py",
        "svcrack 0.2",
        "svmap",
        "sipcli/v1.8",
        "sip-scan",
        "VaxSIPUserAgent/3.1",
        "VaxSIPUserAgent/3.5",
        "iWar",
        "SIVuS",
        "Gulp",
        "smap 0.6.0",
        "pplsip",
        "sundayddr",
    ],
)
def test_known_scanners_are_flagged(user_agent: str) -> None:
    assert is_scanner(user_agent)


@pytest.mark.parametrize(
    "user_agent",
    [
        "sipsak 0.9.8",
        "sipp",
        "SIPp/Linux",
        "PJSUA v2.14.1 Linux-6.1.0/x86_64/glibc-2.36",
        "PJSIP 2.13",
        "baresip v3.10.1 (x86_64/Linux)",
        "Linphone/5.2.5 (belle-sip/5.2.94)",
        "LinphoneAndroid/5.1.2 (Pixel 7) LinphoneSDK/5.2.0",
        "Z 5.6.1 v2.10.20.5",
        "Zoiper rv2.10.20.5-mod",
        "Yealink SIP-T46S 66.86.0.15",
        "Yealink W60B 77.85.0.25",
        "Grandstream GXP2170 1.0.11.23",
        "Grandstream HT802 1.0.43.11",
        "Fanvil X4U 2.12.1.8 0c383e31e4d3",
        "MicroSIP/3.21.3",
        "Asterisk PBX 20.5.0",
        "FPBX-16.0.40(18.20.0)",
        "PortSIP VoIP SDK 11.2",
        "Cisco-SIPGateway/IOS-12.x",
        "Bria 6 release 6.5.4",
        "Telephone-Swarm 1.0",
        "Bitsmapper",
        "sipclient-lib 1.2",
        "",
        None,
    ],
)
def test_legitimate_user_agents_are_allowed(user_agent: str | None) -> None:
    assert not is_scanner(user_agent)


def test_short_names_match_only_as_whole_words() -> None:
    assert is_scanner("smap/0.6")
    assert not is_scanner("Bitsmap 2")
    assert is_scanner("scan by iWar-1.2")
    assert not is_scanner("iwarp-phone")


def test_scanner_from_user_is_flagged() -> None:
    assert is_scanner("Yealink SIP-T46S 66.86.0.15", from_user="friendly-scanner")
    assert not is_scanner("Yealink SIP-T46S 66.86.0.15", from_user="1001")
    assert not is_scanner(None, from_user=None)


def test_scanner_list_is_lower_case_and_short() -> None:
    assert all(name == name.lower() for name in SCANNER_USER_AGENTS)
    assert "sipsak" not in SCANNER_USER_AGENTS and "sipp" not in SCANNER_USER_AGENTS
    assert len(SCANNER_USER_AGENTS) < 30
