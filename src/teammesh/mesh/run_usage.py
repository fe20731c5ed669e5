"""Token usage of each member turn, from the runtimes' `thread/tokenUsage/updated` events
(stream event `thread_token_usage_updated`), recorded on the board under the turn's token.

Each event carries `last` (the model response just made) and `total` (the thread's running
sum). A turn's usage is its thread's total less what the session's earlier turns used (as
recorded on the board): a response whose event nobody heard (the runner was dead then, or
its stream reconnecting) still counts, as the next total includes it, and the turns of a
session always add up to its thread's total. Without totals (or when a total goes back: the
runtime restarted and its count with it) the `last`s heard are summed onto what the board
had. The board's value is replaced on every event (`TeamBoard.record_usage`), so usage seen
twice is counted once.

The playbook runtime sends no such event: its turns have no usage (unknown, never 0).
Usage arrives only over the stream; a run without it (polling only) records none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from teammesh.client import StreamEvent
from teammesh.gateway.runtimes.registry import RUNTIME_MODULES, parse_spec
from teammesh.mesh.board import TeamBoard
from teammesh.mesh.board.run_record import Usage, sum_usage
from teammesh.mesh.calls import MemberState
from teammesh.mesh.usage_totals import UsageTotals

USAGE_EVENT = "thread_token_usage_updated"

# A count above this is no token count (and would not fit a 64-bit column): ignored.
MAX_COUNT = 10**15
# A model name longer than this is cut (it is stored and printed).
MAX_MODEL_CHARS = 200

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
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
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
    session_id: str
    recorded: Usage  # what the board had when this runner first saw the turn
    lasts: Usage = field(default_factory=Usage)

    def add(self, last: Usage, total: Usage | None, before: Usage) -> Usage:
        """The turn's usage: the thread's total less what its earlier turns used (`before`),
        else (no total, or a total that went back: the runtime restarted) the `last`s."""
        self.lasts = self.lasts + last
        if total is not None:
            grown = _minus(total, before)
            if grown is not None:
                return grown
        return self.recorded + self.lasts


class UsageRecorder:
    """The run's usage listener: one per run, routing events by session to members."""

    def __init__(self, board: TeamBoard, by_session: dict[str, MemberState],
                 totals: UsageTotals, default_model: str | None = None) -> None:
        self.board = board
        # The run's model when neither the event nor the member names one (codex sends none).
        self.default_model = default_model
        self.by_session = by_session
        self.totals = totals
        self._turns: dict[str, _TurnUsage] = {}  # turn token -> what was seen of it
        self._tokens: dict[str, str] = {}  # gateway turn id -> turn token
        # Per session, each turn's usage (this run's and earlier runners'), in turn order.
        self._sessions: dict[str, dict[str, Usage]] | None = None

    def on_usage(self, event: StreamEvent, context: Any = None) -> None:
        session_id = event.thread_id or ""
        member = self.by_session.get(session_id)
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
        sessions = self._by_session()
        turns = sessions.setdefault(session_id, {})
        seen = self._turns.get(token)
        if seen is None:
            seen = self._turns[token] = _TurnUsage(session_id, turns.get(token, Usage()))
        turns.setdefault(token, seen.recorded)  # a new turn comes after every other
        before = sum_usage(_until(turns, token))
        named = payload.get("model")
        model = (named.strip()[:MAX_MODEL_CHARS] if isinstance(named, str) and named.strip()
                 else member_model(member) or self.default_model)
        usage = seen.add(last, total, before)
        turns[token] = usage
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

    def _by_session(self) -> dict[str, dict[str, Usage]]:
        """What the board recorded per session (read once per run): a turn an earlier
        runner left open is measured against its session's earlier turns."""
        if self._sessions is None:
            self._sessions = {}
            for turn in self.board.turn_entries():
                if turn.usage is not None and turn.session_id is not None:
                    self._sessions.setdefault(turn.session_id, {})[turn.token] = turn.usage
        return self._sessions


def _until(turns: dict[str, Usage], token: str) -> Iterator[Usage]:
    """The usage of the session's turns before `token` (dicts keep insertion order)."""
    for other, usage in turns.items():
        if other == token:
            return
        yield usage


def named_model(spec: object) -> str | None:
    """The model a model option or runtime spec names: `gpt-5`, `codex:gpt-5` (pricing
    reads the prefix), `codex?model=gpt-5`; None for a bare runtime name's spec."""
    if not isinstance(spec, str) or not spec.strip():
        return None
    if "?" in spec:
        return parse_spec(spec)[1].get("model") or None
    if spec.strip() in RUNTIME_MODULES:
        return None  # a runtime, not a model
    return spec.strip()[:MAX_MODEL_CHARS]


def launch_model(meta: dict[str, Any]) -> str | None:
    """The model the run was launched with (`--model`, or `model=` in `--runtime`)."""
    launch = meta.get("launch")
    if not isinstance(launch, dict):
        return None
    runtime = launch.get("runtime")
    return named_model(launch.get("model")) or (
        named_model(runtime) if isinstance(runtime, str) and "?" in runtime else None)


def member_model(member: MemberState) -> str | None:
    """The model a member's session asked for (its team file's `model`), when the runtime
    does not say which one answered."""
    return named_model(member.spec.session_kwargs().get("model"))
