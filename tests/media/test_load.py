"""Admission control: the media thread's load gauge and the engine refusing new calls."""

from __future__ import annotations

import pytest

from pbxd.media.engine import MediaEngine
from pbxd.media.load import LoadGauge
from pbxd.media.ports import MediaOverloaded, PortAllocator


def feed(gauge: LoadGauge, *shares: float) -> list[bool]:
    states = []
    for share in shares:
        gauge.update(cpu_seconds=share, wall_seconds=1.0)
        states.append(gauge.overloaded)
    return states


def test_refuses_above_high_and_admits_again_only_below_low() -> None:
    gauge = LoadGauge(high=0.85, low=0.75)
    assert feed(gauge, 0.5, 0.5) == [False, False]
    assert feed(gauge, 1.0, 1.0, 1.0) == [False, False, True]  # smoothed: not on one spike
    # between low and high: stays refused (no flapping at the edge)
    assert feed(gauge, 0.8, 0.8, 0.8) == [True, True, True]
    assert feed(gauge, 0.7, 0.7) == [True, False]
    assert gauge.load < 0.75


def test_one_busy_second_does_not_refuse() -> None:
    gauge = LoadGauge()
    assert feed(gauge, 0.3, 1.0, 0.3) == [False, False, False]


def test_samples_are_clamped_and_bad_thresholds_refused() -> None:
    gauge = LoadGauge()
    gauge.update(cpu_seconds=5.0, wall_seconds=1.0)  # clock noise cannot push it past 100 %
    assert gauge.load <= 1.0
    gauge.update(cpu_seconds=1.0, wall_seconds=0.0)  # no time passed: ignored
    with pytest.raises(ValueError):
        LoadGauge(high=0.5, low=0.9)


async def test_engine_refuses_new_endpoints_while_overloaded() -> None:
    engine = MediaEngine("127.0.0.1", PortAllocator(41300, 41320))
    try:
        first = await engine.create_endpoint("127.0.0.1")
        feed(engine.load, 1.0, 1.0, 1.0)
        with pytest.raises(MediaOverloaded) as refused:
            await engine.create_endpoint("127.0.0.1")
        assert refused.value.status == 503
        assert engine.allocator.in_use == 1  # the refusal took no port
        feed(engine.load, 0.2, 0.2, 0.2)
        second = await engine.create_endpoint("127.0.0.1")
        assert {first.id, second.id} == set(engine.endpoints)
    finally:
        engine.close()
