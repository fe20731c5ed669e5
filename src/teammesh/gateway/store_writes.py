"""The two ways the gateway writes to its store, and the health both of them report to.

A write the HTTP answer depends on (`first`) is made before the change is applied in memory
and refuses the request (507/503) when it fails; a background write (`save`) made from a
runtime callback or a turn in flight must never break it, so a failure is only remembered
(health says degraded) until a later write succeeds. Hub, request desk and notification
code all write through one `StoreWrites`, so the health they report is one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from teammesh.gateway.outcome import Outcome
from teammesh.gateway.session import Session
from teammesh.gateway.store import Store
from teammesh.gateway.store_health import StoreHealth, refusal
from teammesh.gateway.transcript import Entry

log = logging.getLogger("teammesh.gateway.store_writes")


class StoreWrites:
    def __init__(self, store: Store, health: StoreHealth) -> None:
        self.store = store
        self.health = health

    def save(self, write: Callable[..., None], *args: Any) -> None:
        """A background write: a failure is logged and remembered, never raised."""
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
