"""What the board keeps of one tool call for the run's record (`CallEntry`): the note a skill
hands the board when the call starts, and the bounds on what is stored of it.

Why bounded: arguments come from a model, and a refused call's arguments were never checked
against the tool's schema. The record keeps what a person needs to see what happened, not
an unbounded copy: past `MAX_STORED_CHARS` of JSON a value is kept as its first characters.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from teammesh.mesh.board.entries import CallEntry, CallOutcome

# The JSON of one stored argument object or result, at most (a board text is at most 8000
# characters; a queued task's arguments carry one, plus the owner).
MAX_STORED_CHARS = 16_000


def stored_json(value: Any) -> str:
    """The JSON a store keeps of an argument object or a result, made once per write: the
    value's own while it fits, else `{"truncated": true, "json": <its first
    MAX_STORED_CHARS characters>}`; a value JSON cannot hold is kept as its repr."""
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        text = json.dumps(repr(value))
    if len(text) <= MAX_STORED_CHARS:
        return text
    return json.dumps({"truncated": True, "json": text[:MAX_STORED_CHARS]}, sort_keys=True)


@dataclass(frozen=True)
class CallNote:
    """A tool call as its skill saw it start: enough to write its record entry in the
    transaction that applies it."""

    request_key: str
    member: str
    turn_token: str | None
    tool: str
    arguments: Any
    started_at: float = field(default_factory=time.time)

    def entry(self, *, result: Any, success: bool | None, outcome: CallOutcome,
              reason: str = "", ended_at: float | None = None) -> CallEntry:
        return CallEntry(self.request_key, self.member, self.turn_token, self.tool,
                         self.arguments, result, success, outcome, reason,
                         self.started_at, time.time() if ended_at is None else ended_at)


def refused_by_result(result: dict[str, Any]) -> str | None:
    """The board recorded the call but changed nothing, and says why (a handoff to an owner
    that is already done): the reason, else None."""
    if result.get("queued") is False:
        return str(result.get("reason") or "not queued")
    return None
