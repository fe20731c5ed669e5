"""Whether a run still has work anywhere, read in ONE statement (so one snapshot).

A distributed run ends when no task is queued or claimed and no turn is open, on every
worker. Two separate counts could miss a task moving between them (PostgreSQL's read
committed gives each statement its own snapshot): a task claimed between "how many are
queued" and "how many are claimed" is in neither. One statement sees one instant.
"""

from __future__ import annotations

from typing import Any

_BUSY = ("SELECT (SELECT COUNT(*) FROM {p}tasks WHERE run_id = ?"
         " AND status IN ('queued', 'claimed'))"
         " + (SELECT COUNT(*) FROM {p}turns WHERE run_id = ? AND state = 'open') AS n")


def outstanding(board: Any) -> int:
    """Tasks queued or claimed plus turns open, on a SQL board (`board._store`)."""
    store = board._store
    with store.transaction(write=False) as tx:
        rows = tx._all(_BUSY, store.run_id)
    return int(rows[0]["n"])
