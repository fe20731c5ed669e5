"""`[policies] budget` and `member_budget`: token and USD limits of the whole run and of each
member, checked before every turn (`run_rounds.py`). Once one is reached no turn starts and
the run stops, its reason naming the limit.

What a budget sees is the usage the turns reported so far (`usage_totals.py`), so a turn
can overshoot: a turn runs to its end once started, and with members running in parallel
each may finish its turn. A run can end over its token budget by at most one turn's usage
per member running at once (the concurrency). A USD budget counts only tokens of models
with a known price: tokens of a model without one are left out (said once, as a note).
"""

from __future__ import annotations

from teammesh.mesh.team import Budget, Policies
from teammesh.mesh.usage_totals import UsageTotals


def _reached(budget: Budget, tokens: int, cost: float, name: str) -> str | None:
    if budget.tokens is not None and tokens >= budget.tokens:
        return (f"{name}.tokens reached: used {tokens:,} tokens"
                f" (budget {budget.tokens:,})")
    if budget.usd is not None and cost >= budget.usd:
        return f"{name}.usd reached: cost ${cost:.4f} (budget ${budget.usd:g})"
    return None


def reached_budgets(policies: Policies, usage: UsageTotals,
                    member: str | None = None) -> list[str]:
    """The policy budgets already reached: the run's, and `member`'s own (every member's
    when `member` is None)."""
    found: list[str] = []
    if policies.budget:
        hit = _reached(policies.budget, usage.total.total, usage.known_cost(),
                       "policies.budget")
        if hit:
            found.append(hit)
    if policies.member_budget:
        members = [member] if member is not None else sorted(usage.by_member)
        for name in members:
            used = usage.by_member.get(name)
            if used is None:
                continue
            hit = _reached(policies.member_budget, used.total, usage.known_cost(name),
                           "policies.member_budget")
            if hit:
                found.append(f"{name}: {hit}")
    return found


def usd_blind_spot(policies: Policies, usage: UsageTotals) -> str | None:
    """A note when a USD budget is set but some tokens have no price (it cannot count them)."""
    if not (policies.budget.usd or policies.member_budget.usd):
        return None
    models = usage.unpriced_models()
    if not models:
        return None
    return (f"the USD budget cannot count tokens of {', '.join(models)}: no known price"
            " (the token budget still applies)")
