"""The PostgreSQL board as it was, for the A/Bs of `bench.scale_pg_ab` and
`bench.board_store` (bench only: nothing else turns it on). `classic`: BEGIN and COMMIT
around every read as well as every write, and a turn's board work (claim, publish, open,
turn id, settle) as the generic statements of `sql.py` instead of the server functions of
`pg_functions.py`. `current`: today's store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PATHS = ("current", "classic")
_GENERIC = ("pull_work", "publish_artifact", "open_turn", "set_turn_id", "settle_turn")


def use(path: str) -> None:
    """Switch this process to `path` for good (a scale worker's `--pg-path`)."""
    if path not in PATHS:
        raise ValueError(f"unknown PostgreSQL path {path!r}")
    if path == "classic":
        _patches()


@contextmanager
def classic() -> Iterator[None]:
    """The classic path in this process while the block runs (threads only: a spawned
    process imports the store afresh)."""
    undo = _patches()
    try:
        yield
    finally:
        for owner, name, value in undo:
            setattr(owner, name, value)


@contextmanager
def generic_ops() -> Iterator[None]:
    """A turn's board work as the generic statements (no server function) while the block
    runs: what patches of `pg_locks` act on (the functions take their locks themselves)."""
    from teammesh.mesh.board.core import TeamBoard
    from teammesh.mesh.board.pg_board import PgTeamBoard

    saved = [(name, PgTeamBoard.__dict__[name]) for name in _GENERIC]
    for name in _GENERIC:
        setattr(PgTeamBoard, name, getattr(TeamBoard, name))
    try:
        yield
    finally:
        for name, value in saved:
            setattr(PgTeamBoard, name, value)


def _patches() -> list[tuple[Any, str, Any]]:
    from teammesh.mesh.board import pg_locks
    from teammesh.mesh.board.core import TeamBoard
    from teammesh.mesh.board.pg_board import PgTeamBoard
    from teammesh.mesh.board.postgres import PostgresStore, _PostgresTx, refused_turns

    @contextmanager
    def transaction(self: PostgresStore, *, write: bool, members: Any = None
                    ) -> Iterator[_PostgresTx]:
        with self._lock, refused_turns(), self._conn.transaction():
            if write:
                pg_locks.take_write_locks(self._conn, self._run_id, members)
            yield _PostgresTx(self._conn, self._run_id)

    undo: list[tuple[Any, str, Any]] = [(PostgresStore, "transaction",
                                         PostgresStore.__dict__["transaction"])]
    PostgresStore.transaction = transaction  # type: ignore[method-assign]
    for name in _GENERIC:
        undo.append((PgTeamBoard, name, PgTeamBoard.__dict__[name]))
        setattr(PgTeamBoard, name, getattr(TeamBoard, name))
    return undo
