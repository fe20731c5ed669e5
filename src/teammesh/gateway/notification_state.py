"""What a runtime notification changes in its session: turns, items and transcript entries.

Applied before the notification's events are published (runtime_events.py), so a client that
reacts to an event and reads the session sees the state the event describes. Store writes
here are background writes, marked and committed once per loop iteration before the events
reach a socket (gateway/store_batch.py): a failing disk never breaks a turn in flight.
"""

from __future__ import annotations

from typing import Any

from teammesh.gateway.clock import now_ms, now_s
from teammesh.gateway.runtimes.base import JsonObject
from teammesh.gateway.session import Session
from teammesh.gateway.store_writes import StoreWrites
from teammesh.gateway.transcript import entry_for_item

# The methods `apply_notification` reads (and `turn/completed`, which also ends the turn's
# pending requests): a runtime must deliver these even when no socket wants their events.
STATE_METHODS = frozenset({"turn/started", "item/started", "item/agentMessage/delta",
                           "item/completed", "turn/completed"})

# Transcript status a still-streaming entry takes when its turn ends this way.
_SETTLED_ENTRY_STATUS = {"completed": "complete", "interrupted": "canceled", "failed": "error"}


def apply_notification(
    writes: StoreWrites, session: Session, method: str, params: JsonObject, turn_id: str | None
) -> None:
    if turn_id is None:
        return  # every notification that changes a session names (or implies) its turn
    at = now_ms()
    if method == "turn/started":
        known = session.turn(turn_id) is not None
        turn = session.ensure_turn(turn_id, at)
        session.materialized = True
        if not known:
            # A turn the hub started is written by the hub, before its 202 (hub.py); this
            # one the runtime started on its own (or it told us first: the hub's write
            # follows anyway).
            writes.later_turn(session, turn)
    elif method == "item/started":
        item = params.get("item")
        if isinstance(item, dict):
            session.transcript.upsert(entry_for_item(item, turn_id, "streaming", at))
    elif method == "item/agentMessage/delta":
        item_id, delta = params.get("itemId"), params.get("delta")
        if isinstance(item_id, str) and isinstance(delta, str):
            session.transcript.append_delta(turn_id, item_id, delta)
    elif method == "item/completed":
        item = params.get("item")
        if isinstance(item, dict):
            _complete_item(writes, session, turn_id, item, at)
    elif method == "turn/completed":
        _complete_turn(writes, session, turn_id, params.get("turn"), at)


def _complete_item(
    writes: StoreWrites, session: Session, turn_id: str, item: JsonObject, at: int
) -> None:
    entry = session.transcript.upsert(entry_for_item(item, turn_id, "complete", at))
    turn = session.ensure_turn(turn_id, at)
    item_id = item.get("id")
    turn.items = [i for i in turn.items if i.get("id") != item_id or item_id is None]
    turn.items.append(item)
    if item.get("type") == "userMessage":
        session.materialized = True
        if not session.preview:
            session.preview = entry["content"][:200]
            writes.later_session(session)
    # The entry is the item's durable record while the turn runs; the turn's row (its item
    # list rewritten whole) waits for the turn's end (docs/gateway.md, what survives).
    writes.later_entries(session, [entry])


def _complete_turn(
    writes: StoreWrites, session: Session, turn_id: str, raw: Any, at: int
) -> None:
    turn = session.ensure_turn(turn_id, at)
    info = raw if isinstance(raw, dict) else {}
    status = info.get("status")
    turn.status = status if isinstance(status, str) and status != "inProgress" else "completed"
    turn.error = info.get("error") if isinstance(info.get("error"), dict) else None
    turn.completed_at_ms = at
    if not turn.items and isinstance(info.get("items"), list):
        turn.items = list(info["items"])
    settled = session.transcript.settle_turn(
        turn_id, _SETTLED_ENTRY_STATUS.get(turn.status, "complete"), at
    )
    session.updated_at = now_s()
    writes.later_turn(session, turn)
    writes.later_entries(session, settled)
    writes.later_session(session)
