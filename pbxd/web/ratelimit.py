"""Login throttling per client: sans-IO, the clock comes in as `now` (seconds, monotonic)."""

from __future__ import annotations

from collections import deque


class LoginThrottle:
    """After `max_failures` failed logins within `window` seconds a client must wait until the
    oldest of them leaves the window. Memory is bounded by `max_clients`."""

    def __init__(self, max_failures: int = 5, window: float = 60.0, max_clients: int = 10_000):
        self.max_failures = max_failures
        self.window = window
        self.max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str, now: float) -> float | None:
        """Seconds the client must wait before trying again, None when it may try now."""
        failures = self._recent(client, now)
        if failures is None or len(failures) < self.max_failures:
            return None
        return failures[0] + self.window - now

    def record_failure(self, client: str, now: float) -> None:
        failures = self._recent(client, now)
        if failures is None:
            self._make_room(now)
            failures = self._failures[client] = deque(maxlen=self.max_failures)
        failures.append(now)

    def reset(self, client: str) -> None:
        self._failures.pop(client, None)

    def _recent(self, client: str, now: float) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def _make_room(self, now: float) -> None:
        if len(self._failures) < self.max_clients:
            return
        for client in list(self._failures):
            self._recent(client, now)
        while len(self._failures) >= self.max_clients:
            # Forget the client that failed first; dicts keep insertion order.
            del self._failures[next(iter(self._failures))]
