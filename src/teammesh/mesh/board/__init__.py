"""The team board: one set of rules (`TeamBoard`) over a pluggable store."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from teammesh.mesh.board.core import TeamBoard, clean_text, effect_key
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

DEFAULT_BOARD_DIR = Path(".teammesh") / "runs"

__all__ = [
    "DEFAULT_BOARD_DIR",
    "DEFAULT_MAX_ATTEMPTS",
    "SYSTEM_MEMBER",
    "ApprovalRecord",
    "Artifact",
    "BoardRefusal",
    "EffectRecord",
    "MemoryStore",
    "RunInfo",
    "SqliteStore",
    "TaskRecord",
    "TeamBoard",
    "ToolCallRecord",
    "TurnSlot",
    "UnknownRun",
    "board_path",
    "clean_text",
    "create_board",
    "effect_key",
    "is_dsn",
    "list_runs",
    "new_run_id",
    "open_board",
    "runs_on",
]


def new_run_id() -> str:
    return time.strftime("run-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def board_path(run_id: str, directory: str | Path = DEFAULT_BOARD_DIR) -> Path:
    """The default: one SQLite file per run."""
    return Path(directory) / f"{run_id}.sqlite"


def is_dsn(location: str | Path | None) -> bool:
    """A PostgreSQL URL (`postgresql://…`) rather than a file path."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def create_board(*, run_id: str, team: str, roster: tuple[str, ...], path: str | Path | None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, team_text: str = "") -> TeamBoard:
    """A fresh run's board: SQLite at `path`, PostgreSQL when `path` is a
    `postgresql://` URL, or in memory when `path` is None."""
    if path is None:
        return TeamBoard(MemoryStore(run_id=run_id, team=team, roster=roster,
                                     max_attempts=max_attempts, team_text=team_text))
    if is_dsn(path):
        from teammesh.mesh.board.postgres import PostgresStore  # optional dependency

        return TeamBoard(PostgresStore.create(str(path), run_id=run_id, team=team,
                                              roster=roster, max_attempts=max_attempts,
                                              team_text=team_text))
    return TeamBoard(SqliteStore.create(path, run_id=run_id, team=team, roster=roster,
                                        max_attempts=max_attempts, team_text=team_text))


def open_board(path: str | Path, run_id: str) -> TeamBoard:
    """An existing run's board (for `--resume` and `board show`)."""
    if is_dsn(path):
        from teammesh.mesh.board.postgres import PostgresStore

        return TeamBoard(PostgresStore.open(str(path), run_id=run_id))
    return TeamBoard(SqliteStore.open(path, run_id=run_id))


def runs_on(location: str | Path) -> list[RunInfo]:
    """Every run held by a board file or database."""
    if is_dsn(location):
        from teammesh.mesh.board.postgres import list_pg_runs

        return list_pg_runs(str(location))
    return list_runs(location)
