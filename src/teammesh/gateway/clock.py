"""The three time formats the wire uses (wire §conventions)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def iso_now() -> str:
    """ISO-8601 with milliseconds and `Z`, like JavaScript's `toISOString`."""
    return iso_from_ms(now_ms())


def iso_from_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def now_ms() -> int:
    """Epoch milliseconds (transcript `startedAt` / `completedAt`)."""
    return time.time_ns() // 1_000_000


def now_s() -> int:
    """Epoch seconds (thread `createdAt` / `updatedAt`)."""
    return int(time.time())
