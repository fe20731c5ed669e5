"""Where a run's board lives, decided in one place.

`--board` is a SQLite file path, a PostgreSQL URL, `memory`, or absent (one SQLite file per
run under `.teammesh/runs/`). Every command that takes `--board` (run, board show, runs,
runs prune) turns it into a location here, and picks the run's lock from that location
here, so the four spellings mean the same thing everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from teammesh.mesh.board.lock import RunLock
from teammesh.mesh.run_defaults import DEFAULT_BOARD_DIR as DEFAULT_BOARD_DIR

if TYPE_CHECKING:  # psycopg is an optional dependency
    from teammesh.mesh.board.postgres import PgRunLock

MEMORY_BOARD = "memory"
DSN_PREFIXES = ("postgresql://", "postgres://")

# A run's location: a SQLite file, a PostgreSQL URL, or None (a board in memory).
Location = str | Path


def is_dsn(location: str | Path | None) -> bool:
    """A PostgreSQL URL (`postgresql://…`) rather than a file path."""
    return isinstance(location, str) and location.startswith(DSN_PREFIXES)


def board_path(run_id: str, directory: str | Path = DEFAULT_BOARD_DIR) -> Path:
    """The default: one SQLite file per run."""
    return Path(directory) / f"{run_id}.sqlite"


def board_location(board: str | None, run_id: str) -> Location | None:
    """Where run `run_id`'s board lives, given `--board`: the URL, the file, the run's own
    file under the runs folder when `--board` is absent, or None for `memory`."""
    if board == MEMORY_BOARD:
        return None
    if is_dsn(board):
        return board
    return Path(board) if board else board_path(run_id)


def run_lock(location: Location, run_id: str) -> RunLock | PgRunLock:
    """One runner per run: a file lock beside a SQLite board, an advisory lock in
    PostgreSQL (held by a connection of its own)."""
    if is_dsn(location):
        from teammesh.mesh.board.postgres import PgRunLock

        return PgRunLock(str(location), run_id)
    return RunLock(location, run_id)
