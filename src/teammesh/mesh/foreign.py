"""Answers only from their owner: telling the runner's own tool-call answers from anyone
else's.

Any client holding the gateway's token can POST an answer to a member's tool call, and the
first answer wins: the agent acts on it. codex-manager's client counts the runner's own
404/409 afterwards as "someone else answered, fine". For a team run that is a fault: a
member's turn built on an answer the runner did not give must not complete its task.

Two facts, per member session and turn, decide it:
- the client's ledger (`DispatchLedger.state`): whether our POST for an id is out, was
  accepted (200), or met 404/409 on its first delivery (`answered_elsewhere`);
- the stream's `tool_call_resolved {requestId, status}` events, which the gateway publishes
  for every resolution, whoever answered: `resolved` (somebody's answer) or `expired`.

A request id is *foreign* when the stream says it was resolved and our answer was not the
accepted one (never claimed, handler still running, POST refused or met 404/409): the
gateway resolves a call once, so a resolution that is not our 200 is someone else's. The
stream also catches calls we never saw at all (answered before our poll listed them); the
ledger alone catches 404/409 without a stream. Without the stream, the session's transcript
gives the same facts after the turn: each call's `tool_call.resolved` entry (message id
`tool-call-<requestId>-<seq>`) says "Tool call resolved" or "Tool call expired". A 404 for
a call nobody was seen resolving is an expiry (its turn ended, e.g. the tool-call
deadline), not a forgery: still a failed turn, with its own message. With neither stream
nor transcript, the two cannot be told apart ("gone").
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from teammesh.client import AnswerState, DispatchLedger

# How long a check waits for one of our POSTs still in flight (its 200 races the stream's
# event); an answer not confirmed by then is not counted as ours.
SUBMIT_SETTLE_SECONDS = 30.0
_SETTLE_POLL_SECONDS = 0.002

FaultKind = Literal["foreign", "expired", "gone"]
_ENTRY_ID = re.compile(r"tool-call-([0-9]+)-[0-9]+")


@dataclass(frozen=True)
class AnswerFault:
    """One tool call of a member's turn whose answer the agent got was not ours."""

    member: str
    request_id: str
    tool: str | None
    kind: FaultKind  # foreign: another client's answer; expired: the gateway's; gone: unknown

    def describe(self) -> str:
        call = f"tool call {self.request_id} ({self.tool or 'unknown tool'})"
        if self.kind == "foreign":
            return f"{call} was answered by another client, not by this runner"
        if self.kind == "expired":
            return f"{call} expired before this runner's answer reached it"
        return f"{call} was gone when this runner answered (answered elsewhere or expired)"


@dataclass
class _TurnAnswers:
    resolved: dict[str, str] = field(default_factory=dict)  # request id → event status
    seen: dict[str, str | None] = field(default_factory=dict)  # request id → tool
    reported: set[str] = field(default_factory=set)


class AnswerAudit:
    """Per member session, what the stream and the ledger say about the current turn's
    tool calls. `begin_turn` starts a member's turn afresh (one turn at a time per member)."""

    def __init__(self) -> None:
        self._turns: dict[str, _TurnAnswers] = {}

    def _turn(self, session_id: str) -> _TurnAnswers:
        return self._turns.setdefault(session_id, _TurnAnswers())

    def begin_turn(self, session_id: str) -> None:
        self._turns[session_id] = _TurnAnswers()

    def saw_call(self, session_id: str, request_id: str | None, tool: str | None) -> None:
        if request_id is not None:
            known = self._turn(session_id).seen
            if known.get(request_id) is None:
                known[request_id] = tool

    def saw_resolution(self, session_id: str, request_id: str, status: str) -> None:
        # A later `expired` never overrides `resolved` (each id resolves once anyway).
        self._turn(session_id).resolved.setdefault(request_id, status)

    def saw_transcript(self, session_id: str, turn_id: str, detail: Any) -> None:
        """The resolutions of the turn's calls as the session's transcript records them
        (for a run without the stream's events)."""
        entries = detail.get("transcript") if isinstance(detail, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or entry.get("type") != "tool_call.resolved":
                continue
            if entry.get("turnId") != turn_id:
                continue
            match = _ENTRY_ID.fullmatch(str(entry.get("messageId")))
            content = str(entry.get("content"))
            if match is None:
                continue
            status = ("expired" if content.startswith("Tool call expired") else
                      "resolved" if content.startswith("Tool call resolved") else None)
            if status is None:
                continue
            tool = None
            try:
                row = json.loads(str(entry.get("details")))
                tool = row.get("tool") if isinstance(row, dict) else None
            except ValueError:
                pass
            self.saw_call(session_id, match.group(1), tool if isinstance(tool, str) else None)
            self.saw_resolution(session_id, match.group(1), status)

    async def tainted(self, session_id: str, ledger: DispatchLedger) -> bool:
        """Whether some answer of the turn so far is known not to be ours (nothing is
        reported: `faults` does that at the turn's end, with the final facts)."""
        turn = self._turn(session_id)
        for request_id in list({**turn.seen, **dict.fromkeys(turn.resolved)}):
            if turn.resolved.get(request_id) == "resolved":
                if await settled_state(ledger, request_id) != "accepted":
                    return True
            elif ledger.state(request_id) == "answered_elsewhere":
                return True
        return False

    async def faults(self, member: str, session_id: str, ledger: DispatchLedger, *,
                     stream_covers: bool) -> list[AnswerFault]:
        """At the end of a turn: every call of it whose answer was not ours, each reported
        once. The turn is over, so each of its calls got an answer (or expired): a call we
        saw whose answer is not our accepted one was answered by someone else or expired
        (even one whose handler still runs, e.g. waiting for an operator)."""
        turn = self._turn(session_id)
        found: list[AnswerFault] = []
        for request_id in list({**turn.seen, **dict.fromkeys(turn.resolved)}):
            if request_id in turn.reported:
                continue
            if await settled_state(ledger, request_id) == "accepted":
                continue
            status = turn.resolved.get(request_id)
            kind: FaultKind
            if status == "resolved":
                kind = "foreign"
            elif status == "expired" or (status is None and stream_covers):
                kind = "expired"  # a stream that saw the whole turn saw no one answer it
            else:
                kind = "gone"
            turn.reported.add(request_id)
            found.append(AnswerFault(member, request_id, turn.seen.get(request_id), kind))
        return found


async def settled_state(ledger: DispatchLedger, request_id: str) -> AnswerState:
    """The ledger's state for `request_id` once our POST (if out) has its answer."""
    deadline = time.monotonic() + SUBMIT_SETTLE_SECONDS
    state = ledger.state(request_id)
    while state == "submitting" and time.monotonic() < deadline:
        await asyncio.sleep(_SETTLE_POLL_SECONDS)
        state = ledger.state(request_id)
    return state
