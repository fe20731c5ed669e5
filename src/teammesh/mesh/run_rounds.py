"""The rounds of a run: members with queued work take turns until the completion criteria
hold, a limit (budget, max rounds) would break, a round makes no progress, or a failure
that will recur stops the run.

In a round each member with queued work takes one turn, in roster order, at most
`concurrency` at a time; work queued during the round is picked up by members that have
not run yet in it (as in the seed).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from teammesh.mesh.budgets import reached_budgets
from teammesh.mesh.criteria import RunFacts
from teammesh.mesh.run_state import RunState
from teammesh.mesh.run_turn import TurnDriver


@dataclass(frozen=True)
class RoundsEnd:
    """Where the rounds stopped: the last round that ran, and why they stopped."""

    last_round: int
    reason: str


def facts(state: RunState, round_number: int, upcoming_turns: int = 0) -> RunFacts:
    """What the completion criteria and limits judge. `upcoming_turns`: turns about to
    start (and not yet counted)."""
    usage = state.usage
    return RunFacts(round=round_number, turns=state.turns + upcoming_turns,
                    tool_calls=state.calls.count,
                    tokens=usage.total.total if usage.reported else None,
                    cost_usd=usage.known_cost() if usage.reported else None,
                    upcoming_turns=upcoming_turns)


async def run_rounds(state: RunState, driver: TurnDriver, *, first_round: int,
                     last_round: int) -> RoundsEnd:
    """Rounds `first_round` to the round limit, until one of the stopping rules holds;
    `last_round` is the last round that already ran (0 for a new run)."""
    completion = state.team.completion
    reason = f"round limit ({state.settings.rounds}) reached"
    for round_number in range(first_round, state.settings.rounds + 1):
        if completion.holds(state.board, facts(state, last_round)):
            reason = "completion criteria hold"
            break
        # A round starts turns: a limit the next turn could only break stops it here.
        broken = _limit_broken(state, round_number, upcoming_turns=1)
        if broken:
            reason = f"limit reached before round {round_number}: {broken[0]}"
            break
        state.board.update_run(round=round_number)
        state.changed()
        progressed = await _round(state, driver, round_number)
        last_round = round_number
        if state.stopped_by is not None:
            break
        if not progressed:
            reason = "a round made no progress"
            break
    return RoundsEnd(last_round, reason)


def _limit_broken(state: RunState, round_number: int, upcoming_turns: int = 0) -> list[str]:
    """The limits (budget, max rounds) that going on would break, while the run has not
    completed."""
    now = facts(state, round_number, upcoming_turns)
    broken = state.team.completion.broken_limits(state.board, now)
    broken += reached_budgets(state.team.policies, state.usage)
    if broken and state.team.completion.holds(state.board, now):
        return []
    return broken


async def _round(state: RunState, driver: TurnDriver, round_number: int) -> bool:
    """One round; returns whether any member had work."""
    ran: set[str] = set()
    running: dict[asyncio.Future[None], str] = {}
    try:
        while True:
            for name in state.team.roster:
                if state.stopped_by is not None:
                    break
                if len(running) >= state.settings.concurrency or _limit_broken(
                        state, round_number, upcoming_turns=1):
                    break
                if name in ran or state.board.queue_depth(name) == 0:
                    continue
                ran.add(name)
                state.turns += 1  # counted when scheduled: the budget sees it at once
                running[asyncio.ensure_future(
                    driver.run_turn(state.members[name], round_number))] = name
            if not running:
                return bool(ran)
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                future.result()
    finally:
        for future in running:
            future.cancel()
