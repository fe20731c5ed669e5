"""Token usage of each member turn, from the runtimes' `thread/tokenUsage/updated` events
(stream event `thread_token_usage_updated`), recorded on the board under the turn's token.

Each event carries `last` (the model response just made) and `total` (the thread's running
sum). A turn's usage is what its thread's total grew by since just before the turn's first
response the runner saw (that response's `total` minus its `last`): a missed event in
between still counts, as the next total includes it. Without totals, the `last`s are
summed. The board's value is replaced on every event (`TeamBoard.record_usage`), so usage
seen twice is counted once; a turn a resumed runner waits out starts from what the old one
recorded.

The playbook runtime sends no such event: its turns have no usage (unknown, never 0).
Usage arrives only over the stream; a run without it (polling only) records none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teammesh.client import StreamEvent
from teammesh.mesh.board import TeamBoard
from teammesh.mesh.board.run_record import Usage
from teammesh.mesh.calls import MemberState
from teammesh.mesh.usage_totals import UsageTotals

USAGE_EVENT = "thread_token_usage_updated"

# The wire's field of each `Usage` field (codex's and our llm runtime's spelling).
_FIELDS = (("input_tokens", "inputTokens"), ("cached_input_tokens", "cachedInputTokens"),
           ("output_tokens", "outputTokens"), ("reasoning_tokens", "reasoningOutputTokens"))


def usage_of(counts: object) -> Usage | None:
    """The wire's token counts as `Usage`; None when they are not counts."""
    if not isinstance(counts, dict):
        return None
    values = []
    for _, wire in _FIELDS:
        value = counts.get(wire, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None
        values.append(value)
    return Usage(*values)


def _minus(a: Usage, b: Usage) -> Usage | None:
    """`a - b`, or None when a count would go negative (the thread's sum was reset)."""
    diff = Usage(a.input_tokens - b.input_tokens,
                 a.cached_input_tokens - b.cached_input_tokens,
                 a.output_tokens - b.output_tokens, a.reasoning_tokens - b.reasoning_tokens)
    if min(diff.input_tokens, diff.cached_input_tokens, diff.output_tokens,
           diff.reasoning_tokens) < 0:
        return None
    return diff


@dataclass
class _TurnUsage:
    recorded: Usage  # what the board had when this runner first saw the turn
    baseline: Usage | None  # the thread's total just before the first response seen
    lasts: Usage = field(default_factory=Usage)
    latest_total: Usage | None = None

    def add(self, last: Usage, total: Usage | None) -> Usage:
        self.lasts = self.lasts + last
        if total is not None and self.baseline is not None:
            self.latest_total = total
            grown = _minus(total, self.baseline)
            if grown is not None:
                return self.recorded + grown
        return self.recorded + self.lasts


class UsageRecorder:
    """The run's usage listener: one per run, routing events by session to members."""

    def __init__(self, board: TeamBoard, by_session: dict[str, MemberState],
                 totals: UsageTotals) -> None:
        self.board = board
        self.by_session = by_session
        self.totals = totals
        self._turns: dict[str, _TurnUsage] = {}  # turn token -> what was seen of it
        self._tokens: dict[str, str] = {}  # gateway turn id -> turn token
        self._recorded: dict[str, Usage | None] | None = None

    def on_usage(self, event: StreamEvent, context: Any = None) -> None:
        member = self.by_session.get(event.thread_id or "")
        payload = event.payload if isinstance(event.payload, dict) else {}
        counts = payload.get("tokenUsage")
        if member is None or not isinstance(counts, dict):
            return
        last = usage_of(counts.get("last"))
        if last is None:
            return
        token = self._token_for(member, payload.get("turnId"))
        if token is None:
            return  # no turn of ours is running in this session
        total = usage_of(counts.get("total")) if "total" in counts else None
        seen = self._turns.get(token)
        if seen is None:
            baseline = _minus(total, last) if total is not None else None
            seen = self._turns[token] = _TurnUsage(self._earlier(token) or Usage(), baseline)
        named = payload.get("model")
        model = named if isinstance(named, str) and named.strip() else member_model(member)
        usage = seen.add(last, total)
        self.board.record_usage(token, usage, model)
        self.totals.update(token, member.name, usage, model)

    def _token_for(self, member: MemberState, turn_id: object) -> str | None:
        """The token of the turn the event belongs to: the one its turn id was first seen
        with, else the member's running turn (a member runs one turn at a time)."""
        if isinstance(turn_id, str) and turn_id in self._tokens:
            return self._tokens[turn_id]
        if member.active is None:
            return None
        if isinstance(turn_id, str):
            self._tokens[turn_id] = member.active.token
        return member.active.token

    def _earlier(self, token: str) -> Usage | None:
        """What an earlier runner recorded for the turn (read once per run)."""
        if self._recorded is None:
            self._recorded = {t.token: t.usage for t in self.board.run_record().turns}
        return self._recorded.get(token)


def member_model(member: MemberState) -> str | None:
    """The model a member's session asked for (its team file's `model`), when the runtime
    does not say which one answered."""
    model = member.spec.session_kwargs().get("model")
    return model if isinstance(model, str) and model.strip() else None
