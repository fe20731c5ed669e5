"""Completion criteria: composable checks over the board (A3), in the manner of AutoGen's
termination conditions. Each returns the list of what is missing (empty: it holds), so a run
that ends incomplete can say exactly why."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from teammesh.mesh.board import TeamBoard


@dataclass(frozen=True)
class RunFacts:
    """What criteria may look at besides the board."""

    round: int = 0
    turns: int = 0
    tool_calls: int = 0
    # Tokens (input + output) the run's turns reported, and their cost in USD; None when
    # unknown (no usage reported; a model without a known price).
    tokens: int | None = None
    cost_usd: float | None = None
    # Turns about to start: a limit asked before one starts (reached, not only exceeded).
    upcoming_turns: int = 0


class Criterion:
    """A named condition; `missing()` is empty when it holds. Compose with `all_of`,
    `any_of`, `not_` (or `&`, `|`)."""

    def __init__(self, description: str,
                 check: Callable[[TeamBoard, RunFacts], list[str]],
                 limits: tuple[Criterion, ...] = ()) -> None:
        self.description = description
        self._check = check
        # The limits (max rounds, budgets) inside this criterion: once one is broken the
        # run cannot end complete, so the runner stops instead of spending more.
        self.limits = limits
        # The criteria an `all_of` is made of (the web board shows which of them hold).
        self.parts: tuple[Criterion, ...] = ()

    def broken_limits(self, board: TeamBoard, facts: RunFacts) -> list[str]:
        return [m for limit in self.limits for m in limit.missing(board, facts)]

    def missing(self, board: TeamBoard, facts: RunFacts) -> list[str]:
        return self._check(board, facts)

    def holds(self, board: TeamBoard, facts: RunFacts) -> bool:
        return not self.missing(board, facts)

    def __and__(self, other: Criterion) -> Criterion:
        return all_of(self, other)

    def __or__(self, other: Criterion) -> Criterion:
        return any_of(self, other)

    def __repr__(self) -> str:
        return f"Criterion({self.description!r})"


def all_of(*parts: Criterion) -> Criterion:
    def check(board: TeamBoard, facts: RunFacts) -> list[str]:
        return [m for part in parts for m in part.missing(board, facts)]

    combined = Criterion("all of (" + "; ".join(p.description for p in parts) + ")", check,
                         _limits_of(parts))
    combined.parts = parts
    return combined


def any_of(*parts: Criterion) -> Criterion:
    def check(board: TeamBoard, facts: RunFacts) -> list[str]:
        found = [part.missing(board, facts) for part in parts]
        if any(not m for m in found):
            return []
        return ["one of: " + " | ".join("; ".join(m) for m in found)]

    # No limits: inside any_of, a broken limit leaves the other ways to complete open.
    return Criterion("any of (" + "; ".join(p.description for p in parts) + ")", check)


def not_(part: Criterion) -> Criterion:
    def check(board: TeamBoard, facts: RunFacts) -> list[str]:
        return [] if part.missing(board, facts) else [f"not ({part.description})"]

    return Criterion(f"not ({part.description})", check)


def _limits_of(parts: Sequence[Criterion]) -> tuple[Criterion, ...]:
    return tuple(limit for part in parts for limit in part.limits)


_Check = Criterion


def member_done(*members: str) -> Criterion:
    def check(board: TeamBoard, facts: RunFacts) -> list[str]:
        done = set(board.completed())
        return [f"member {m} has not marked done" for m in members if m not in done]

    return _Check(f"member done: {', '.join(members)}", check)


def queues_empty() -> Criterion:
    def check(board: TeamBoard, facts: RunFacts) -> list[str]:
        depths = board.snapshot(limit=1)["queueDepths"]
        return [f"{m} still has {n} queued task(s)" for m, n in depths.items() if n]

    return _Check("every queue empty", check)


def artifact_kinds(*kinds: str) -> Criterion:
    def check(board: TeamBoard, facts: RunFacts) -> list[str]:
        present = {a.kind for a in board.artifacts()}
        return [f"no {k} artifact" for k in kinds if k not in present]

    return _Check(f"artifact kinds: {', '.join(kinds)}", check)


def no_dead_letters() -> Criterion:
    def check(board: TeamBoard, facts: RunFacts) -> list[str]:
        return [f"dead letter: task {t.id} for {t.owner} ({t.text!r})"
                for t in board.dead_letters()]

    return _Check("no dead letters", check)


def max_rounds(limit: int) -> Criterion:
    """Holds while the run has used at most `limit` rounds."""

    def check(board: TeamBoard, facts: RunFacts) -> list[str]:
        return [] if facts.round <= limit else [f"used {facts.round} rounds (max {limit})"]

    made = _Check(f"at most {limit} rounds", check)
    made.limits = (made,)
    return made


def budget(*, turns: int | None = None, tool_calls: int | None = None,
           tokens: int | None = None, usd: float | None = None) -> Criterion:
    """Holds while the run stays within its budget of turns, tool calls, tokens and USD.
    Before a turn starts, a token or USD budget already reached counts as broken: the next
    turn could only go over it."""

    def check(board: TeamBoard, facts: RunFacts) -> list[str]:
        over = []
        if turns is not None and facts.turns > turns:
            over.append(f"used {facts.turns} turns (budget {turns})")
        if tool_calls is not None and facts.tool_calls > tool_calls:
            over.append(f"used {facts.tool_calls} tool calls (budget {tool_calls})")
        starting = facts.upcoming_turns > 0
        used = facts.tokens
        if tokens is not None and used is not None and (
                used > tokens or (starting and used >= tokens)):
            over.append(f"used {used:,} tokens (token budget {tokens:,})")
        cost = facts.cost_usd
        if usd is not None and cost is not None and (cost > usd or (starting and cost >= usd)):
            over.append(f"cost ${cost:.4f} (USD budget ${usd:g})")
        return over

    named = ", ".join(f"{k}={v}" for k, v in (("turns", turns), ("tool_calls", tool_calls),
                                               ("tokens", tokens), ("usd", usd))
                      if v is not None)
    made = _Check(f"budget {named}", check)
    made.limits = (made,)
    return made


# -- quality checks: named callables over the board ----------------------------------------

QualityCheck = Callable[[TeamBoard], list[str]]


def _non_empty_summaries(board: TeamBoard) -> list[str]:
    return [f"artifact {a.id} by {a.member} has a too-short summary"
            for a in board.artifacts() if len(a.summary.split()) < 2]


def _review_refers_to_others(board: TeamBoard) -> list[str]:
    """The review must refer to the implementation and the documentation (by kind or by the
    members that produced them)."""
    artifacts = board.artifacts()
    reviews = [a for a in artifacts if a.kind == "review"]
    if not reviews:
        return ["no review artifact to check"]
    text = " ".join(a.summary.lower() for a in reviews)
    missing = []
    for kind in ("implementation", "documentation"):
        authors = {a.member for a in artifacts if a.kind == kind}
        words = {kind, kind[:3], *authors}
        if not any(w in text for w in words):
            missing.append(f"the review does not refer to the {kind}")
    return missing


QUALITY_CHECKS: dict[str, QualityCheck] = {
    "non_empty_summaries": _non_empty_summaries,
    "review_refers_to_others": _review_refers_to_others,
}


def quality(name: str, check: QualityCheck | None = None) -> Criterion:
    found = check or QUALITY_CHECKS.get(name)
    if found is None:
        raise KeyError(f"unknown quality check {name!r} (known: {', '.join(QUALITY_CHECKS)})")
    chosen = found
    return _Check(f"quality: {name}", lambda board, facts: chosen(board))


def seed_completion(closer: str = "reviewer") -> Criterion:
    """The seed's rule: the reviewer is done and every queue is empty."""
    return all_of(member_done(closer), queues_empty())


def describe(parts: Sequence[Criterion]) -> str:
    return "; ".join(p.description for p in parts)
