from __future__ import annotations

from pbxd.web.ratelimit import LoginThrottle


def test_window_slides() -> None:
    throttle = LoginThrottle(max_failures=3, window=60.0)
    for now in (0.0, 10.0, 20.0):
        assert throttle.retry_after("a", now) is None
        throttle.record_failure("a", now)
    assert throttle.retry_after("a", 30.0) == 30.0
    assert throttle.retry_after("b", 30.0) is None  # per client
    assert throttle.retry_after("a", 60.0) is None  # the failure at 0 left the window
    throttle.record_failure("a", 60.0)
    assert throttle.retry_after("a", 61.0) == 9.0  # now 10, 20, 60 count


def test_reset_forgets_a_client() -> None:
    throttle = LoginThrottle(max_failures=1, window=60.0)
    throttle.record_failure("a", 0.0)
    assert throttle.retry_after("a", 1.0) == 59.0
    throttle.reset("a")
    assert throttle.retry_after("a", 1.0) is None


def test_memory_is_bounded() -> None:
    throttle = LoginThrottle(max_failures=1, window=60.0, max_clients=100)
    for index in range(1000):
        throttle.record_failure(f"10.0.{index // 256}.{index % 256}", float(index) / 100)
    assert len(throttle._failures) <= 100
    # The newest clients are the ones still remembered.
    assert throttle.retry_after("10.0.3.231", 10.0) is not None
