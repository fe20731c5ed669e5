"""Wake-ups for a worker: `LISTEN` on the board's notification channel instead of polling.

The board's triggers (`board/migrations.PG_WAKEUPS`) notify when work is queued (a handoff,
a requeued claim), when a turn settles and when the run's status changes; PostgreSQL
delivers a notification when its transaction commits, so what woke a worker is there to
read. Notifications are not durable (a listener that reconnects misses what came
meanwhile), so the worker still looks at the board now and then: a slow poll, only the
fallback. A listener whose connection dies raises on the next `wait`: the worker is cut
from the database and stops like a dead one.
"""

from __future__ import annotations

import asyncio
import contextlib

import psycopg

from teammesh.mesh.board.migrations import WAKEUP_CHANNEL

# How often a listening worker looks at the board anyway (lost notifications).
FALLBACK_POLL_SECONDS = 2.0


class Wakeups:
    def __init__(self, dsn: str, run_id: str) -> None:
        self.dsn = dsn
        self.run_id = run_id
        self.received = 0
        self._event = asyncio.Event()
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Wakeups:
        self._conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        await self._conn.execute(f"LISTEN {WAKEUP_CHANNEL}")
        self._task = asyncio.create_task(self._listen(self._conn))
        return self

    async def _listen(self, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
        async for notice in conn.notifies():
            if notice.payload == self.run_id:
                self.received += 1
                self._event.set()

    @property
    def waiter(self) -> asyncio.Task[None]:
        """What `asyncio.wait` can wait on: done when woken (or when the listener died)."""
        assert self._task is not None, "start() first"
        return self._task

    async def woken(self) -> None:
        await self._event.wait()

    def consume(self) -> None:
        """Take the wake-up (the next one wakes again); raise if the listener died."""
        self._event.clear()
        if self._task is not None and self._task.done():
            self._task.result()  # its connection's error (or a clean end)
            raise psycopg.OperationalError("the wake-up listener stopped")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
