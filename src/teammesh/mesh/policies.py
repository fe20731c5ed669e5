"""Per-member policies enforced at the tool boundary (A2): loop guards on handoffs and
approval gates. Each guard answers a proposed handoff with a refusal reason or None."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from teammesh.mesh.board import TaskRecord
from teammesh.mesh.skills import HandoffGuard

Answer = Literal["yes", "no", "ask"]


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
    """A gate on a handoff: `member` → `owner` (either may be "*") needs a yes/no."""

    member: str = "*"
    owner: str = "*"
    answer: Answer = "yes"

    def matches(self, member: str, owner: str) -> bool:
        return self.member in ("*", member) and self.owner in ("*", owner)


Asker = Callable[[str], bool]


def approval_gate(rules: tuple[ApprovalRule, ...], ask: Asker | None) -> HandoffGuard:
    """The first matching rule answers; "ask" asks `ask` (the terminal), and without a
    terminal the answer is no, said so to the agent."""

    def guard(member: str, owner: str, current: TaskRecord | None) -> str | None:
        for rule in rules:
            if not rule.matches(member, owner):
                continue
            if rule.answer == "yes":
                return None
            question = f"approve handoff {member} -> {owner}?"
            if rule.answer == "no":
                return f"handoff {member} -> {owner} declined by the team's approval rule"
            if ask is None:
                return (f"handoff {member} -> {owner} needs approval and no one can answer"
                        " (no terminal)")
            return None if ask(question) else (
                f"handoff {member} -> {owner} declined by the operator")
        return None

    return guard


def guards_for(member: str, *, max_chain: int | None, max_bounces: int | None,
               approvals: tuple[ApprovalRule, ...], ask: Asker | None,
               extra: Mapping[str, HandoffGuard] | None = None) -> tuple[HandoffGuard, ...]:
    guards: list[HandoffGuard] = []
    if max_chain is not None:
        guards.append(chain_cap(max_chain))
    if max_bounces is not None:
        guards.append(ping_pong_guard(max_bounces))
    if approvals:
        guards.append(approval_gate(approvals, ask))
    guards.extend((extra or {}).values())
    return tuple(guards)
