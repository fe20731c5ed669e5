"""The store writes a turn's notifications ask for, collected and committed together once per
event-loop iteration.

Why: a playbook turn used to make about 13 SQLite commits (the turn record rewritten with all
its items for every completed item, each transcript entry and the session on their own), a
third of the gateway's CPU per turn. Marked here instead, the rows a loop iteration changes go
in one transaction on the next iteration, each row once with its latest state: one turn record
per turn per iteration, however many of its items completed, and the rows of every session
that moved in that iteration together (32 members in flight share the commits).

What it keeps (docs/gateway.md, "What survives a crash"): the flush is queued with `call_soon`
while the notification is applied, before its events are published, so it runs before the
socket writer that sends those events wakes (the loop runs callbacks in order): a client is
never sent an item the store has not committed. Writes that do not go through here
(`StoreWrites.save` / `first`: turn starts, rollbacks, deletes) flush the batch first, so the
order rows reach the store is the order they were made in.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from teammesh.gateway.session import Session, Turn
from teammesh.gateway.transcript import Entry


@dataclass
class Batch:
    """Rows to write, each keyed so a later mark of the same row replaces the earlier one."""

    sessions: dict[str, Session] = field(default_factory=dict)
    turns: dict[tuple[str, str], tuple[str, Turn]] = field(default_factory=dict)
    entries: dict[tuple[str, str, str], tuple[str, int, Entry]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.sessions or self.turns or self.entries)


class PendingWrites:
    """The batch being collected and the one loop callback that will hand it over."""

    def __init__(self) -> None:
        self.batch = Batch()
        self._handle: asyncio.Handle | None = None

    @property
    def queued(self) -> bool:
        """Whether a flush callback is already queued for the batch."""
        return self._handle is not None

    def session(self, session: Session) -> None:
        self.batch.sessions[session.id] = session

    def turn(self, session: Session, turn: Turn) -> None:
        self.batch.turns[(session.id, turn.id)] = (session.id, turn)

    def entries(self, session: Session, entries: list[Entry]) -> None:
        for entry in entries:
            # The position is taken now: the entry holds it from its first upsert on.
            position = session.transcript.position(entry)
            key = (session.id, entry["turnId"], entry["messageId"])
            self.batch.entries[key] = (session.id, position, entry)

    def take(self) -> Batch:
        """The collected rows (the pending callback, if any, is cancelled)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        batch, self.batch = self.batch, Batch()
        return batch

    def arm(self, flush: asyncio.Handle) -> None:
        self._handle = flush
