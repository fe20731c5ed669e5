"""Token and USD budgets in team files: `[policies.budget]`, `[policies.member_budget]` and
`tokens` / `usd` in a `[completion]` budget are read into the team; wrong values are one
clear problem each, at the key's path."""

from __future__ import annotations

import pytest

from teammesh.mesh.board import create_board
from teammesh.mesh.criteria import RunFacts
from teammesh.mesh.team import Budget
from teammesh.mesh.teamfile import TeamFileError, team_from_text

BASE = '[[members]]\nname = "dev"\n[[tasks]]\nowner = "dev"\ntext = "go"\n'


def test_policy_budgets_are_read() -> None:
    team = team_from_text(BASE + "[policies.budget]\ntokens = 5000\nusd = 0.25\n"
                          "[policies.member_budget]\ntokens = 1000\n", "t.toml")
    assert team.policies.budget == Budget(tokens=5000, usd=0.25)
    assert team.policies.member_budget == Budget(tokens=1000)
    assert not team_from_text(BASE, "t.toml").policies.budget  # none: no limit


def test_a_completion_budget_of_tokens_and_usd() -> None:
    team = team_from_text(BASE + "[completion]\nbudget = { tokens = 100, usd = 1 }\n",
                          "t.toml")
    board = create_board(run_id="b", team="t", roster=("dev",), path=None)
    completion = team.completion
    assert completion.holds(board, RunFacts(tokens=100, cost_usd=1.0))  # at the limit
    assert completion.missing(board, RunFacts(tokens=101, cost_usd=0.5)) == [
        "used 101 tokens (token budget 100)"]
    assert completion.missing(board, RunFacts(tokens=5, cost_usd=1.5)) == [
        "cost $1.5000 (USD budget $1)"]
    # Before a turn starts, a budget already reached is broken: the turn could only exceed it.
    assert completion.broken_limits(board, RunFacts(tokens=100, upcoming_turns=1)) == [
        "used 100 tokens (token budget 100)"]
    assert completion.holds(board, RunFacts())  # nothing reported: not over
    board.close()


@pytest.mark.parametrize(("extra", "key", "says"), [
    ("[policies.budget]\ntokens = 0\n", "policies.budget.tokens", "at least 1, got 0"),
    ("[policies.budget]\nusd = -1.0\n", "policies.budget.usd", "greater than 0"),
    ("[policies.budget]\nusd = inf\n", "policies.budget.usd",
     "must be a finite number of US dollars"),
    ("[policies.budget]\nusd = \"1\"\n", "policies.budget.usd", "a number (US dollars)"),
    ("[policies.member_budget]\ndollars = 1\n", "policies.member_budget.dollars",
     "unknown key (allowed: tokens, usd)"),
    ("[completion]\nbudget = { usd = 0 }\n", "completion.budget.usd", "above 0"),
    ("[completion]\nbudget = { usd = \"1\" }\n", "completion.budget.usd", "a number"),
    ("[completion]\nbudget = { tokens = 1.5 }\n", "completion.budget.tokens", "integer"),
    ("[completion]\nbudget = { cost = 1 }\n", "completion.budget.cost", "allowed: tokens"),
])
def test_bad_budgets_are_named(extra: str, key: str, says: str) -> None:
    with pytest.raises(TeamFileError) as caught:
        team_from_text(BASE + extra, "t.toml")
    text = str(caught.value)
    assert key in text and says in text, text
