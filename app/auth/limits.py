"""Rate limits: failed attempts counted per key in a sliding window, in this process."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class AttemptLimiter:
    """At most `attempts` failures per key in `window_seconds`; more are refused until the
    oldest leaves the window. Failures only: callers that succeed are never slowed."""

    def __init__(self, attempts: int, window_seconds: float, keys: int = 100_000) -> None:
        self._attempts = attempts
        self._window = window_seconds
        self._keys = keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before trying again under any of `keys` (0: go ahead)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._failures.get(key)
                if failures is None:
                    continue
                while failures and failures[0] <= now - self._window:
                    failures.popleft()
                if len(failures) >= self._attempts:
                    wait = max(wait, failures[0] + self._window - now)
        return math.ceil(wait)

    def fail(self, *keys: str) -> None:
        """Count one failure under each of `keys`."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self._keys:
                self._failures.clear()  # rarely: a flood of keys; forget rather than grow
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
