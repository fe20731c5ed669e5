"""The three time formats the wire uses (wire §conventions)."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime


def iso_now() -> str:
    """ISO-8601 with milliseconds and `Z`, like JavaScript's `toISOString`."""
    return iso_from_ms(now_ms())


def iso_from_ms(ms: int) -> str:
    return f"{_second_prefix(ms // 1000)}{ms % 1000:03d}Z"


@functools.lru_cache(maxsize=4)
def _second_prefix(second: int) -> str:
    # Every event carries a timestamp and `strftime` was a tenth of the gateway's work per
    # codex notification; within one second only the milliseconds change.
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")


def now_ms() -> int:
    """Epoch milliseconds (transcript `startedAt` / `completedAt`)."""
    return time.time_ns() // 1_000_000


def now_s() -> int:
    """Epoch seconds (thread `createdAt` / `updatedAt`)."""
    return int(time.time())
