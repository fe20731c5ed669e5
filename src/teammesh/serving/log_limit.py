"""A warning that can fire thousands of times a second (a refused connection, a failed
accept) is logged at most once per interval, with the count of the ones it swallowed:
under attack the log must stay readable and must not fill the disk."""

from __future__ import annotations

import logging
import threading
import time


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, interval_s: float = 10.0) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._suppressed = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next_at:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._next_at = now + self._interval_s
        if suppressed:
            message += f" ({suppressed} more since the last such line)"
        self._logger.warning(message, *args)
