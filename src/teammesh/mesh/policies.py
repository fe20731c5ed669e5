"""Per-member policies enforced at the tool boundary (A2): loop guards on handoffs (each
answers a proposed handoff with a refusal reason or None) and approval gates (wrapped around
a skill's handler at registration, `ApprovalGate.wrap`, so the skill itself never asks)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from teammesh.client import SkillContext
from teammesh.mesh.approval_wait import TERMINAL, Asker, wait_for_answer
from teammesh.mesh.board import TaskRecord, TeamBoard
from teammesh.mesh.skills import QUEUE_WORK, HandoffGuard, board_key, refusal_payload
from teammesh.mesh.terminal_text import inert_line
from teammesh.tracing.tool_spans import traced_approval

Answer = Literal["yes", "no", "ask"]
# A registered handler as the gate wraps it: the call's context, then its arguments.
AsyncSkillHandler = Callable[..., Awaitable[dict[str, Any]]]


def _proposed_chain(member: str, owner: str, current: TaskRecord | None) -> tuple[str, ...]:
    chain = current.chain if current is not None else (member,)
    if not chain or chain[-1] != member:
        chain = (*chain, member)
    return (*chain, owner)


def chain_cap(max_chain: int) -> HandoffGuard:
    """Refuse a handoff that would make the chain of handoffs longer than `max_chain`."""

    def guard(member: str, owner: str, current: TaskRecord | None) -> str | None:
        chain = _proposed_chain(member, owner, current)
        handoffs = len(chain) - 1
        if handoffs > max_chain:
            return (f"handoff chain too long: {' > '.join(chain)} is {handoffs} handoffs"
                    f" (cap {max_chain})")
        return None

    return guard


def ping_pong_guard(max_bounces: int) -> HandoffGuard:
    """Refuse the handoff that would bounce one task between the same two members more than
    `max_bounces` times in a row (a > b > a > b ...)."""

    def guard(member: str, owner: str, current: TaskRecord | None) -> str | None:
        chain = _proposed_chain(member, owner, current)
        bounces = 1
        pair = {chain[-1], chain[-2]}
        for i in range(len(chain) - 2, 0, -1):
            if {chain[i], chain[i - 1]} != pair or chain[i] == chain[i - 1]:
                break
            bounces += 1
        if len(pair) == 2 and bounces > max_bounces:
            a, b = sorted(pair)
            return (f"ping-pong between {a} and {b} detected: {' > '.join(chain)}"
                    f" ({bounces} handoffs back and forth, max {max_bounces})")
        return None

    return guard


@dataclass(frozen=True)
class ApprovalRule:
    """A gate: a call of `tool` by `member` (for handoffs: to `owner`) needs a yes/no.
    Each field may be "*"; the first matching rule of the team answers."""

    member: str = "*"
    owner: str = "*"
    answer: Answer = "yes"
    tool: str = QUEUE_WORK

    def matches(self, member: str, tool: str, owner: str | None) -> bool:
        return (self.tool in ("*", tool) and self.member in ("*", member)
                and (self.owner == "*" or self.owner == owner))


def _subject(member: str, tool: str, arguments: Mapping[str, Any]) -> str:
    if tool == QUEUE_WORK:
        # The owner is the model's text, not yet checked against the roster: escaped, so
        # a control or bidi character cannot redraw the question a person answers.
        return f"handoff {member} -> {inert_line(str(arguments.get('owner')))}"
    return f"{tool} by {member}"


class ApprovalGate:
    """Approval gates at the tool boundary. A pending question is on the board (so the live
    view and `board show` show it); a no is a refusal the agent reads."""

    def __init__(self, rules: tuple[ApprovalRule, ...], board: TeamBoard,
                 ask: Asker | None, deadline: float | None = None, *,
                 board_answers: bool = False) -> None:
        self.rules = rules
        self.board = board
        self.ask = ask
        self.deadline = deadline
        # True when someone may answer on the board (the web board): wait for that too.
        self.board_answers = board_answers

    def applies(self, member: str, tool: str) -> bool:
        """Whether some rule may gate `member`'s calls of `tool` (a handoff's owner is only
        known per call): only those handlers get wrapped."""
        return any(rule.tool in ("*", tool) and rule.member in ("*", member)
                   for rule in self.rules)

    def wrap(self, member: str, tool: str, handler: AsyncSkillHandler,
             on_change: Callable[[], None]) -> AsyncSkillHandler:
        """`handler` behind the gate: a call the board has not recorded yet waits for its
        yes/no (`on_change` around the wait, so the live view shows the question); a no is
        the refusal the agent reads. A replayed call goes straight through (its recorded
        result stands)."""

        async def gated(ctx: SkillContext, **arguments: Any) -> dict[str, Any]:
            key = board_key(ctx)
            if key is None or self.board.recorded(key) is None:
                on_change()
                reason = await traced_approval(member, tool,
                                               self.check(member, tool, arguments, key))
                on_change()
                if reason is not None:
                    return refusal_payload(tool, reason)
            return await handler(ctx, **arguments)

        return gated

    def rule_for(self, member: str, tool: str, owner: str | None) -> ApprovalRule | None:
        for rule in self.rules:
            if rule.matches(member, tool, owner):
                return rule
        return None

    async def check(self, member: str, tool: str, arguments: Mapping[str, Any],
                    key: str | None) -> str | None:
        """None when the call may go ahead, else the refusal reason."""
        owner = arguments.get("owner") if tool == QUEUE_WORK else None
        rule = self.rule_for(member, tool, owner if isinstance(owner, str) else None)
        if rule is None or rule.answer == "yes":
            return None
        subject = _subject(member, tool, arguments)
        if rule.answer == "no":
            return f"{subject} declined by the team's approval rule"
        question = f"approve {subject}? ({json.dumps(dict(arguments), sort_keys=True)})"
        approval = self.board.open_approval(member, tool, question, key=key)
        if approval.state != "pending":  # a replayed call: the answer stands
            return None if approval.state == "approved" else f"{subject} declined"
        if self.ask is None and not self.board_answers:
            self.board.answer_approval(approval.id, approved=False, by="no terminal")
            return f"{subject} needs approval and no one can answer (no terminal)"
        try:
            answered = await wait_for_answer(self.board, approval, ask=self.ask,
                                             board_answers=self.board_answers,
                                             deadline=self.deadline)
        except asyncio.CancelledError:
            # The run is stopping: the question is no longer open.
            self.board.answer_approval(approval.id, approved=False, by="abandoned")
            raise
        if answered is None:
            answered = self.board.answer_approval(approval.id, approved=False, by="deadline")
            if answered is None or answered.answered_by == "deadline":
                return f"{subject}: no answer within {self.deadline:g}s, declined"
        if answered is not None and answered.state == "approved":
            return None
        by = answered.answered_by if answered is not None else TERMINAL
        return f"{subject} declined by {'the operator' if by == TERMINAL else by}"


def guards_for(member: str, *, max_chain: int | None, max_bounces: int | None,
               extra: Mapping[str, HandoffGuard] | None = None) -> tuple[HandoffGuard, ...]:
    guards: list[HandoffGuard] = []
    if max_chain is not None:
        guards.append(chain_cap(max_chain))
    if max_bounces is not None:
        guards.append(ping_pong_guard(max_bounces))
    guards.extend((extra or {}).values())
    return tuple(guards)
