"""Approvals of the runtime's own commands (codex asking before it runs a command or writes
a file), answered by the team's approval rules.

A member whose session's `approval_policy` is not `never` (say `untrusted`, codex asking for
every command it does not trust) gets its pending approvals answered by the runner while
its turn runs. The rule is the team's first `[[policies.approvals]]` rule for tool
`command` (or `*`): `yes` accepts, `no` declines, `ask` asks the operator (as for a
handoff; `approval_timeout` applies). A member with no such rule is asked about too:
a policy that makes codex ask is never answered yes by default. Every question and answer is
on the board (`board show`: approvals), keyed by session and approval id, so a resumed
runner answers a question the old one left as the board recorded it.

Approvals are read by polling the session's pending approvals (`GET
/api/sessions/{id}/approvals`) every `POLL_SECONDS` while the member has a turn open; members
under `never` are never polled.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from teammesh.client import CodexManagerError
from teammesh.mesh.board.core import short_reason
from teammesh.mesh.calls import MemberState
from teammesh.mesh.policies import ApprovalGate, ApprovalRule
from teammesh.mesh.run_state import RunState
from teammesh.wire import Decision

COMMAND_TOOL = "command"
POLL_SECONDS = 0.2


def asks_approvals(member: MemberState) -> bool:
    return bool(member.spec.session_kwargs().get("approval_policy", "never") != "never")


class CommandApprovals:
    """One per run: polls the members' pending runtime approvals and answers them."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        gate = state.calls.gate
        rules = (*gate.rules, ApprovalRule("*", "*", "ask", COMMAND_TOOL))
        self.gate = ApprovalGate(rules, gate.board, gate.ask, gate.deadline)
        self.answered: set[str] = set()

    def watched(self) -> list[MemberState]:
        return [m for m in self.state.members.values() if asks_approvals(m)]

    async def run(self, stop: asyncio.Event) -> None:
        members = self.watched()
        if not members:
            return
        while not stop.is_set():
            for member in members:
                if member.active is not None and member.session is not None:
                    with contextlib.suppress(CodexManagerError, OSError):
                        await self.answer_pending(member)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)

    async def answer_pending(self, member: MemberState) -> None:
        assert member.session is not None
        session_id = member.session.session_id
        listed: Any = await member.cm.sessions.approvals(session_id)
        rows = listed.get("data") if isinstance(listed, dict) else None
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict) or row.get("status", "pending") != "pending":
                continue
            approval_id = str(row.get("approvalId") or "")
            key = f"approval:{session_id}:{approval_id}"
            if not approval_id or key in self.answered:
                continue
            self.answered.add(key)
            # One line (the summary quotes the command, here-documents and all).
            question = {"request": short_reason(row.get("summary") or row.get("method") or "?")}
            self.state.changed()
            refused = await self.gate.check(member.name, COMMAND_TOOL, question, key)
            self.state.changed()
            decision: Decision = "accept" if refused is None else "decline"
            self.state.printer.note(f"[approval] {member.name}: {question['request']}:"
                                    f" {decision}" + (f" ({refused})" if refused else ""))
            with contextlib.suppress(CodexManagerError):
                await member.cm.approvals.decide(approval_id, decision=decision)
