"""The run's token usage and cost so far, kept up to date as usage events arrive, so budgets
are checked before every turn without reading the board (`budgets.py`, `criteria.budget`).

Seeded from the board's record when the run starts (a resumed run counts what its earlier
runners used), then updated per turn token: a turn's new value replaces its old one in the
sums, so a turn reported again is never counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from teammesh.mesh.board.pricing import usage_cost
from teammesh.mesh.board.run_record import TurnEntry, Usage


@dataclass
class _Turn:
    member: str
    usage: Usage
    cost: Decimal | None
    model: str | None


@dataclass
class UsageTotals:
    _turns: dict[str, _Turn] = field(default_factory=dict)
    total: Usage = field(default_factory=Usage)
    by_member: dict[str, Usage] = field(default_factory=dict)
    _cost: dict[str, Decimal] = field(default_factory=dict)  # member -> known cost
    _unpriced: dict[str, set[str]] = field(default_factory=dict)  # member -> tokens

    def seed(self, turns: Iterable[TurnEntry]) -> None:
        for turn in turns:
            if turn.usage is not None:
                self.update(turn.token, turn.member, turn.usage, turn.model)

    def update(self, token: str, member: str, usage: Usage, model: str | None) -> None:
        old = self._turns.get(token)
        if old is not None:
            self._take(token, old)
        turn = _Turn(member, usage, usage_cost(usage, model), model)
        self._turns[token] = turn
        self.total = self.total + usage
        self.by_member[member] = self.by_member.get(member, Usage()) + usage
        if turn.cost is None:
            self._unpriced.setdefault(member, set()).add(token)
        else:
            self._cost[member] = self._cost.get(member, Decimal(0)) + turn.cost

    def _take(self, token: str, old: _Turn) -> None:
        self.total = _minus(self.total, old.usage)
        self.by_member[old.member] = _minus(self.by_member[old.member], old.usage)
        if old.cost is None:
            self._unpriced.get(old.member, set()).discard(token)
        else:
            self._cost[old.member] -= old.cost

    @property
    def reported(self) -> bool:
        return bool(self._turns)

    def cost(self, member: str | None = None) -> float | None:
        """The known cost in USD (of one member, or the run); None while some turn with
        usage has no price, or no turn reported usage."""
        members = [member] if member is not None else list(self.by_member)
        if not any(m in self.by_member for m in members):
            return None
        if any(self._unpriced.get(m) for m in members):
            return None
        return float(sum((self._cost.get(m, Decimal(0)) for m in members), Decimal(0)))

    def known_cost(self, member: str | None = None) -> float:
        """The cost in USD of the tokens that have a price (of one member, or the run)."""
        members = [member] if member is not None else list(self._cost)
        return float(sum((self._cost.get(m, Decimal(0)) for m in members), Decimal(0)))

    def unpriced_models(self) -> list[str]:
        """The models whose tokens have no known price (a USD budget cannot see them)."""
        return sorted({str(self._turns[t].model) for tokens in self._unpriced.values()
                       for t in tokens})


def _minus(a: Usage, b: Usage) -> Usage:
    return Usage(a.input_tokens - b.input_tokens,
                 a.cached_input_tokens - b.cached_input_tokens,
                 a.output_tokens - b.output_tokens, a.reasoning_tokens - b.reasoning_tokens)
