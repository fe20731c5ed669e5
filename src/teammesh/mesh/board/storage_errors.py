"""A board write the disk refused, as one error the CLI can say in one line.

SQLite reports a full disk (or a full page budget) as SQLITE_FULL and a failed write as
SQLITE_IOERR; either way the transaction was rolled back, so the board holds exactly what it
held before. The run is kept and `teammesh run --resume RUN` continues it once there is room.
"""

from __future__ import annotations

import sqlite3
from typing import Any

DURABILITY_PRAGMAS = {"normal": "NORMAL", "full": "FULL"}


class BoardStorageError(RuntimeError):
    """The board could not be written (nothing of the failed transaction was applied)."""


def is_storage_failure(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in (10, 13):  # SQLITE_IOERR, SQLITE_FULL
        return True
    text = str(exc).lower()
    return "disk is full" in text or "disk i/o error" in text


def set_durability(conn: sqlite3.Connection, durability: str) -> None:
    """`normal`: a committed transaction survives a process crash; `full`: also a power
    loss (SQLite fsyncs the WAL at every commit)."""
    if durability not in DURABILITY_PRAGMAS:
        raise ValueError(f"durability must be one of {', '.join(DURABILITY_PRAGMAS)}")
    conn.execute(f"PRAGMA synchronous={DURABILITY_PRAGMAS[durability]}")


def apply_durability(board: Any, durability: str) -> None:
    """Set a board's durability if its store has the knob (SQLite); PostgreSQL boards are
    as durable as their server is configured."""
    setter = getattr(getattr(board, "_store", None), "set_durability", None)
    if setter is not None:
        setter(durability)
