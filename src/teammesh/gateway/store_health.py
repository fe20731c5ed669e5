"""Whether the gateway's store is accepting writes, and what a refused write answers.

The hub writes at two kinds of points. A write an HTTP request depends on (a session create,
rename, delete, the start of a turn) is made *before* the request is acknowledged and before
the in-memory state changes: if it fails the request fails with 507 `insufficient_storage`
(the disk is full) or 503 `store_unavailable` (any other store error), and nothing is applied.
A write a runtime event causes (an item completed, a turn ended) cannot fail a request; it is
logged. Either way the failure is remembered here, so `/api/health` says `degraded` with the
reason for as long as writes fail, and the next write that succeeds (or the health probe)
clears it: the gateway recovers by itself when space returns.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
from typing import Any

log = logging.getLogger("teammesh.gateway.store")

_FULL_TEXT = ("database or disk is full", "no space left", "disk quota exceeded")


def is_storage_full(exc: BaseException) -> bool:
    """SQLITE_FULL (the SQLite error for ENOSPC / a full page budget), or an OS ENOSPC."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and (code & 0xFF) == 13:  # SQLITE_FULL and its extended codes
            return True
    return any(text in str(exc).lower() for text in _FULL_TEXT)


def describe(exc: BaseException) -> str:
    return f"store write failed: {exc}" if str(exc) else f"store write failed: {type(exc).__name__}"


def refusal(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """The HTTP answer to a request whose write failed: status and structured body."""
    if is_storage_full(exc):
        return 507, {
            "status": "error",
            "code": "insufficient_storage",
            "message": f"{describe(exc)}; nothing was changed, retry when space is free",
        }
    return 503, {
        "status": "error",
        "code": "store_unavailable",
        "message": f"{describe(exc)}; nothing was changed, retry later",
    }


class StoreHealth:
    """The last write failure, until a write succeeds again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reason: str | None = None
        self.failures = 0

    @property
    def reason(self) -> str | None:
        return self._reason

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            if self._reason is None:
                log.error("%s (health is degraded until writes succeed)", describe(exc))
            self._reason = describe(exc)
            self.failures += 1

    def succeeded(self) -> None:
        if self._reason is not None:
            with self._lock:
                if self._reason is not None:
                    log.warning("store writes succeed again (was: %s)", self._reason)
                self._reason = None
