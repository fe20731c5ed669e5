"""The team board: one set of rules (`TeamBoard`) over a pluggable store."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any

from teammesh.mesh.board.core import TeamBoard, clean_text, effect_key
from teammesh.mesh.board.files import NotABoard
from teammesh.mesh.board.location import (
    DEFAULT_BOARD_DIR,
    MEMORY_BOARD,
    Location,
    board_location,
    board_path,
    is_dsn,
    run_lock,
)
from teammesh.mesh.board.memory import MemoryStore
from teammesh.mesh.board.protocol import (
    DEFAULT_MAX_ATTEMPTS,
    SYSTEM_MEMBER,
    ApprovalRecord,
    Artifact,
    BoardRefusal,
    EffectRecord,
    RunInfo,
    TaskRecord,
    ToolCallRecord,
    TurnSlot,
)
from teammesh.mesh.board.sqlite import SqliteStore, UnknownRun, list_runs

__all__ = [
    "DEFAULT_BOARD_DIR",
    "DEFAULT_MAX_ATTEMPTS",
    "MEMORY_BOARD",
    "RUN_ID_PATTERN",
    "SYSTEM_MEMBER",
    "ApprovalRecord",
    "Artifact",
    "BadRunId",
    "BoardRefusal",
    "EffectRecord",
    "Location",
    "MemoryStore",
    "NotABoard",
    "RunInfo",
    "SqliteStore",
    "TaskRecord",
    "TeamBoard",
    "ToolCallRecord",
    "TurnSlot",
    "UnknownRun",
    "board_location",
    "board_path",
    "check_run_id",
    "clean_text",
    "create_board",
    "effect_key",
    "is_dsn",
    "list_runs",
    "new_run_id",
    "open_board",
    "run_lock",
    "runs_on",
]


# Exactly what `new_run_id()` makes. A run id without `--board` names a file under the runs
# folder, so it must have this shape: no separators, no `..`, nothing else.
RUN_ID_PATTERN = re.compile(r"run-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
# On a board named by `--board` a run id is only a key (runs made through the library may
# carry their own ids): still plain, short, and never a path.
_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class BadRunId(ValueError):
    pass


def new_run_id() -> str:
    return time.strftime("run-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def check_run_id(run_id: str, *, names_file: bool = True) -> str:
    """`run_id` if it has the shape `new_run_id()` makes (or, when it does not name a file,
    a plain key without `..`); else `BadRunId`."""
    pattern = RUN_ID_PATTERN if names_file else _KEY_PATTERN
    if not pattern.fullmatch(run_id) or ".." in run_id:
        shown = run_id.encode("unicode_escape").decode("ascii")[:80]
        raise BadRunId(f"not a run id: {shown!r} (run ids look like run-20250101-120000-1a2b3c)")
    return run_id


def create_board(*, run_id: str, team: str, roster: tuple[str, ...], path: str | Path | None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, team_text: str = "",
                 meta: dict[str, Any] | None = None) -> TeamBoard:
    """A fresh run's board: SQLite at `path`, PostgreSQL when `path` is a
    `postgresql://` URL, or in memory when `path` is None."""
    if path is None:
        return TeamBoard(MemoryStore(run_id=run_id, team=team, roster=roster,
                                     max_attempts=max_attempts, team_text=team_text,
                                     meta=meta))
    if is_dsn(path):
        from teammesh.mesh.board.pg_board import PgTeamBoard  # optional dependency
        from teammesh.mesh.board.postgres import PostgresStore

        return PgTeamBoard(PostgresStore.create(str(path), run_id=run_id, team=team,
                                                roster=roster, max_attempts=max_attempts,
                                                team_text=team_text, meta=meta))
    return TeamBoard(SqliteStore.create(path, run_id=run_id, team=team, roster=roster,
                                        max_attempts=max_attempts, team_text=team_text,
                                        meta=meta))


def open_board(path: str | Path, run_id: str) -> TeamBoard:
    """An existing run's board (for `--resume` and `board show`)."""
    if is_dsn(path):
        from teammesh.mesh.board.pg_board import PgTeamBoard
        from teammesh.mesh.board.postgres import PostgresStore

        return PgTeamBoard(PostgresStore.open(str(path), run_id=run_id))
    return TeamBoard(SqliteStore.open(path, run_id=run_id))


def runs_on(location: str | Path) -> list[RunInfo]:
    """Every run held by a board file or database."""
    if is_dsn(location):
        from teammesh.mesh.board.postgres import list_pg_runs

        return list_pg_runs(str(location))
    return list_runs(location)
