"""The two ways the gateway writes to its store, and the health both of them report to.

A write the HTTP answer depends on (`first`) is made before the change is applied in memory
and refuses the request (507/503) when it fails; a background write (`save`) made from a
runtime callback or a turn in flight must never break it, so a failure is only remembered
(health says degraded) until a later write succeeds. Hub, request desk and notification
code all write through one `StoreWrites`, so the health they report is one.

A turn's notifications only mark rows (`later_*`): they are committed together on the next
loop iteration (gateway/store_batch.py says why and what that keeps). Every other write
flushes the marked rows first, so rows reach the store in the order they were made.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from teammesh.gateway.outcome import Outcome
from teammesh.gateway.session import Session, Turn
from teammesh.gateway.store import Store
from teammesh.gateway.store_batch import PendingWrites
from teammesh.gateway.store_health import StoreHealth, refusal
from teammesh.gateway.transcript import Entry

log = logging.getLogger("teammesh.gateway.store_writes")


class StoreWrites:
    def __init__(self, store: Store, health: StoreHealth) -> None:
        self.store = store
        self.health = health
        self._pending = PendingWrites()

    def save(self, write: Callable[..., None], *args: Any) -> None:
        """A background write: a failure is logged and remembered, never raised."""
        self.flush()
        self._background(write, *args)

    def _background(self, write: Callable[..., None], *args: Any) -> None:
        try:
            write(*args)
        except Exception as exc:
            log.warning("store write failed: %s", exc)
            self.health.failed(exc)
        else:
            self.health.succeeded()

    def first(self, write: Callable[..., None], *args: Any) -> Outcome | None:
        """A write an HTTP answer depends on, made before the answer and before the change
        is applied in memory: None when written, else the 507/503 to answer instead."""
        self.flush()
        try:
            write(*args)
        except Exception as exc:
            log.warning("store write failed, request refused: %s", exc)
            self.health.failed(exc)
            status, body = refusal(exc)
            return Outcome(status, body)
        self.health.succeeded()
        return None

    def entries(self, session: Session, entries: list[Entry]) -> None:
        """Background write of transcript entries at the positions they hold in memory."""
        pairs = [(session.transcript.position(e), e) for e in entries]
        self.save(self.store.save_entries, session.id, pairs)

    # ----- rows a turn's notifications change: one transaction per loop iteration ----------

    def later_session(self, session: Session) -> None:
        self._pending.session(session)
        self._queue()

    def later_turn(self, session: Session, turn: Turn) -> None:
        self._pending.turn(session, turn)
        self._queue()

    def later_entries(self, session: Session, entries: list[Entry]) -> None:
        if entries:
            self._pending.entries(session, entries)
            self._queue()

    def flush(self) -> None:
        """Commit the marked rows now (a background write: failures only degrade health)."""
        if not self._pending.batch:
            return  # nothing marked (the fan-out asks before every socket write)
        batch = self._pending.take()
        if batch:
            self._background(self.store.save_batch, list(batch.sessions.values()),
                             list(batch.turns.values()), list(batch.entries.values()))

    def _queue(self) -> None:
        if self._pending.queued:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (start-up recovery, sync callers): write through
            self.flush()
            return
        self._pending.arm(loop.call_soon(self.flush))
