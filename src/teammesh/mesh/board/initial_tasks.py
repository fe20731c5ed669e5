"""A run's initial tasks queued in one board transaction instead of one each.

Why: the runner queued them one `queue_work` (one commit) at a time before the first turn,
so a 5,000-task run spent its first second or more on commits (the scale bench's per-turn
CPU counted it too). Each task still goes through `TeamBoard.queue_work`, with its key
(`initial:N`) recorded, so a resumed run queues each exactly once, as before; only the
commits merge. All or nothing: a crash (or a refused task) before the commit leaves none
queued, and the next run queues them all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from teammesh.mesh.board.protocol import SYSTEM_MEMBER, BoardTx, Members

if TYPE_CHECKING:
    from teammesh.mesh.board.core import TeamBoard
    from teammesh.mesh.board.protocol import BoardStore


class _Within:
    """A store whose every transaction on this thread is the one already open (it commits
    with it); another thread's (an approval waiter's) is the store's own, and waits for it."""

    def __init__(self, store: BoardStore, tx: BoardTx) -> None:
        self._store = store
        self._tx = tx
        self._thread = threading.get_ident()

    @property
    def run_id(self) -> str:
        return self._store.run_id

    def transaction(self, *, write: bool, members: Members = None
                    ) -> AbstractContextManager[BoardTx]:
        if threading.get_ident() != self._thread:
            return self._store.transaction(write=write, members=members)
        return self._same()

    @contextmanager
    def _same(self) -> Iterator[BoardTx]:
        yield self._tx

    def close(self) -> None:
        raise RuntimeError("the board is closed by its own store, not inside a batch")


def queue_initial_tasks(board: TeamBoard, tasks: Sequence[tuple[str, str]]) -> None:
    """Queue `(owner, text)` pairs as the run's initial tasks (keys `initial:0..N-1`)."""
    if not tasks:
        return
    # PostgreSQL: the same, as one server function (`pg_board.PgTeamBoard.queue_initial`).
    fast = getattr(board, "queue_initial", None)
    if fast is not None and fast(list(tasks)):
        return
    store = board._store
    with store.transaction(write=True) as tx:
        board._store = _Within(store, tx)
        try:
            for number, (owner, text) in enumerate(tasks):
                board.queue_work(owner, text, by=SYSTEM_MEMBER, key=f"initial:{number}")
        finally:
            board._store = store
