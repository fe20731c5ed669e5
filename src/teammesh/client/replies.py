"""Reading a session detail (`GET /sessions/{id}`): a turn's status and its reply.

Shared by the wait helpers, remote skills and the team runner, so all agree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from teammesh.wire import TERMINAL_TURN_STATUSES, is_terminal_status

__all__ = [
    "TERMINAL_TURN_STATUSES",
    "assistant_reply_of",
    "is_terminal_status",
    "normalize_statuses",
    "turn_status_of",
]


def turn_status_of(detail: Any, turn_id: str) -> str | None:
    """Status of the first `thread.turns[]` entry with this id, stripped; else `None`."""
    if not isinstance(detail, dict):
        return None
    thread = detail.get("thread")
    turns = thread.get("turns") if isinstance(thread, dict) else None
    if not isinstance(turns, list):
        return None
    for turn in turns:
        if isinstance(turn, dict) and turn.get("id") == turn_id:
            status = turn.get("status")
            return status.strip() if isinstance(status, str) and status.strip() else None
    return None


def assistant_reply_of(detail: Any, turn_id: str) -> str | None:
    """The last complete, non-blank assistant transcript entry of the turn, stripped."""
    if not isinstance(detail, dict):
        return None
    transcript = detail.get("transcript")
    if not isinstance(transcript, list):
        return None
    for entry in reversed(transcript):
        if (
            isinstance(entry, dict)
            and entry.get("turnId") == turn_id
            and entry.get("role") == "assistant"
            and entry.get("status") == "complete"
            and isinstance(entry.get("content"), str)
            and entry["content"].strip()
        ):
            return str(entry["content"]).strip()
    return None


def normalize_statuses(value: str | Iterable[str] | None, *, what: str) -> frozenset[str]:
    """A status or statuses, trimmed and lower-cased; `None` → the terminal set."""
    if value is None:
        return TERMINAL_TURN_STATUSES
    items: Iterable[object] = [value] if isinstance(value, str) else value
    result: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{what} must be strings")
        if item.strip():
            result.add(item.strip().lower())
    if not result:
        raise ValueError(f"{what} must not be empty")
    return frozenset(result)
