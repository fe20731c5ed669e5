"""The entries of a run's record: what each turn used and what each tool call did.

Kept apart from `protocol.py` (which declares the store contract over them) and from
`run_record.py` (which assembles them into the record readers get), so both can import them
without importing each other. Readers import them from `run_record.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CallOutcome = Literal["applied", "replayed", "refused"]


@dataclass(frozen=True)
class Usage:
    """Token counts of one turn (or a sum of turns). `cached_input_tokens` is part of
    `input_tokens` and `reasoning_tokens` part of `output_tokens`, as codex counts them, so
    `total` adds input and output only."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens,
                     self.cached_input_tokens + other.cached_input_tokens,
                     self.output_tokens + other.output_tokens,
                     self.reasoning_tokens + other.reasoning_tokens)

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class TurnEntry:
    """One member turn as the record shows it. `usage` is None when nothing reported any
    (the playbook runtime has no model): unknown, never zero."""

    token: str
    member: str
    round: int
    turn_id: str | None
    session_id: str | None
    state: str
    reason: str
    started_at: float | None  # UNIX seconds
    ended_at: float | None
    usage: Usage | None
    model: str | None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.started_at)


@dataclass(frozen=True)
class CallEntry:
    """One tool call, keyed by its request key (`<session id>:<request id>`). `outcome` is
    the board's: "applied" (it changed or read the board), "replayed" (its recorded result
    was returned again; nothing changed), "refused" (nothing changed; `reason` says why)."""

    request_key: str
    member: str
    turn_token: str | None
    tool: str
    arguments: Any
    result: Any
    success: bool | None
    outcome: str
    reason: str
    started_at: float | None
    ended_at: float | None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.started_at)
