"""The PostgreSQL board as it was, for the A/B of `bench.scale_stores` (bench only: nothing
else turns it on). `classic`: BEGIN and COMMIT around every read as well as every write,
and every tool call's board work written as the generic statements of `sql.py` (no server
function). `current`: today's store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PATHS = ("current", "classic")


def use(path: str) -> None:
    from teammesh.mesh.board import pg_locks
    from teammesh.mesh.board.core import TeamBoard
    from teammesh.mesh.board.pg_board import PgTeamBoard
    from teammesh.mesh.board.postgres import PostgresStore, _PostgresTx, refused_turns

    if path not in PATHS:
        raise ValueError(f"unknown PostgreSQL path {path!r}")
    if path == "current":
        return

    @contextmanager
    def transaction(self: PostgresStore, *, write: bool, members: Any = None
                    ) -> Iterator[_PostgresTx]:
        with self._lock, refused_turns(), self._conn.transaction():
            if write:
                pg_locks.take_write_locks(self._conn, self._run_id, members)
            yield _PostgresTx(self._conn, self._run_id)

    PostgresStore.transaction = transaction  # type: ignore[method-assign]
    for generic in ("pull_work", "publish_artifact", "open_turn", "set_turn_id",
                    "settle_turn"):
        setattr(PgTeamBoard, generic, getattr(TeamBoard, generic))
