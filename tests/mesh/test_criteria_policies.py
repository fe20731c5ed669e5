"""Completion criteria (composable, with what is missing) and handoff policies (loop guards,
approval gates), over a real board."""

from __future__ import annotations

import threading

import pytest

from teammesh.client import SkillContext
from teammesh.mesh import criteria as crit
from teammesh.mesh.board import SYSTEM_MEMBER, TaskRecord, TeamBoard
from teammesh.mesh.criteria import RunFacts
from teammesh.mesh.policies import (
    ApprovalGate,
    ApprovalRule,
    chain_cap,
    guards_for,
    ping_pong_guard,
)
from teammesh.mesh.skills import MemberSkills

FACTS = RunFacts(round=2, turns=5, tool_calls=20)


def test_leaf_criteria_and_missing_lists(board: TeamBoard) -> None:
    assert crit.member_done("reviewer").missing(board, FACTS) == [
        "member reviewer has not marked done"]
    board.queue_work("docs", "x", by=SYSTEM_MEMBER)
    assert crit.queues_empty().missing(board, FACTS) == ["docs still has 1 queued task(s)"]
    assert crit.artifact_kinds("implementation", "review").missing(board, FACTS) == [
        "no implementation artifact", "no review artifact"]
    board.publish_artifact("developer", "implementation", "plan for the summary workflow")
    assert crit.artifact_kinds("implementation").holds(board, FACTS)
    assert crit.max_rounds(2).holds(board, FACTS)
    assert crit.max_rounds(1).missing(board, FACTS) == ["used 2 rounds (max 1)"]
    assert crit.budget(turns=4, tool_calls=20).missing(board, FACTS) == [
        "used 5 turns (budget 4)"]
    assert crit.no_dead_letters().holds(board, FACTS)


def test_composition(board: TeamBoard) -> None:
    done = crit.member_done("docs")
    empty = crit.queues_empty()
    assert crit.all_of(done, empty).missing(board, FACTS) == [
        "member docs has not marked done"]
    assert crit.any_of(done, empty).holds(board, FACTS)
    assert crit.not_(empty).missing(board, FACTS) == ["not (every queue empty)"]
    assert crit.not_(done).holds(board, FACTS)
    assert (done | empty).holds(board, FACTS)
    assert not (done & empty).holds(board, FACTS)
    board.queue_work("docs", "x", by=SYSTEM_MEMBER)
    assert crit.any_of(done, empty).missing(board, FACTS) == [
        "one of: member docs has not marked done | docs still has 1 queued task(s)"]
    board.mark_done("docs")
    assert crit.seed_completion("docs").holds(board, FACTS)


def test_quality_checks(board: TeamBoard) -> None:
    review = crit.quality("review_refers_to_others")
    assert review.missing(board, FACTS) == ["no review artifact to check"]
    board.publish_artifact("developer", "implementation", "the plan")
    board.publish_artifact("docs", "documentation", "the guide")
    board.publish_artifact("reviewer", "review", "implementation looks right")
    assert review.missing(board, FACTS) == ["the review does not refer to the documentation"]
    board.publish_artifact("reviewer", "review", "and the docs guide reads well")
    assert review.holds(board, FACTS)
    summaries = crit.quality("non_empty_summaries")
    assert summaries.holds(board, FACTS)
    board.publish_artifact("docs", "documentation", "ok")
    short = board.artifacts()[-1]
    assert summaries.missing(board, FACTS) == [
        f"artifact {short.id} by docs has a too-short summary"]


def _task(chain: tuple[str, ...]) -> TaskRecord:
    return TaskRecord(1, chain[-1], "t", "x", "claimed", 0, "tok", chain, None)


def test_chain_cap() -> None:
    guard = chain_cap(2)
    assert guard("docs", "reviewer", _task(("developer", "docs"))) is None
    assert guard("reviewer", "docs", _task(("developer", "docs", "reviewer"))) == (
        "handoff chain too long: developer > docs > reviewer > docs is 3 handoffs (cap 2)")
    assert guard("developer", "docs", None) is None


def test_ping_pong() -> None:
    guard = ping_pong_guard(2)
    assert guard("docs", "developer", _task(("developer", "docs"))) is None
    assert guard("developer", "docs", _task(("developer", "docs", "developer"))) == (
        "ping-pong between developer and docs detected: developer > docs > developer > docs"
        " (3 handoffs back and forth, max 2)")
    # A chain through a third member is not a ping-pong.
    assert guard("docs", "reviewer", _task(("developer", "docs", "developer", "docs"))) is None


@pytest.mark.anyio
async def test_approval_gate_rules_operator_and_board(board: TeamBoard) -> None:
    seen_pending: list[list[str]] = []

    def operator(question: str) -> bool:
        # While the question is open, it is on the board.
        seen_pending.append([a.state for a in board.approvals()])
        return "reviewer" not in question

    gate = ApprovalGate((ApprovalRule("docs", "reviewer", "no"),
                         ApprovalRule("*", "*", "ask"),
                         ApprovalRule("*", "*", "yes", tool="*")), board, operator)
    handoff = {"owner": "reviewer", "task": "check"}
    assert await gate.check("docs", "team_queue_work", handoff, "k0") == (
        "handoff docs -> reviewer declined by the team's approval rule")
    assert await gate.check("developer", "team_queue_work", handoff, "k1") == (
        "handoff developer -> reviewer declined by the operator")
    assert seen_pending == [["pending"]]
    assert await gate.check("developer", "team_queue_work",
                            {"owner": "docs", "task": "x"}, "k2") is None
    assert [(a.state, a.answered_by) for a in board.approvals()] == [
        ("declined", "operator"), ("approved", "operator")]
    # A replayed call reuses the answer instead of asking again.
    assert await gate.check("developer", "team_queue_work", handoff, "k1") == (
        "handoff developer -> reviewer declined")
    assert len(seen_pending) == 2
    assert await gate.check("reviewer", "team_mark_done", {}, "k3") is None


@pytest.mark.anyio
async def test_approval_without_terminal_or_past_deadline(board: TeamBoard) -> None:
    rules = (ApprovalRule(tool="team_mark_done", answer="ask"),)
    no_terminal = ApprovalGate(rules, board, None)
    assert await no_terminal.check("docs", "team_mark_done", {}, None) == (
        "team_mark_done by docs needs approval and no one can answer (no terminal)")
    release = threading.Event()

    def slow(question: str) -> bool:
        release.wait(10)
        return True

    late = ApprovalGate(rules, board, slow, deadline=0.05)
    try:
        assert await late.check("docs", "team_mark_done", {}, None) == (
            "team_mark_done by docs: no answer within 0.05s, declined")
    finally:
        release.set()
    assert [a.answered_by for a in board.approvals()] == ["no terminal", "deadline"]


def test_guards_refuse_through_the_skill_and_leave_board_untouched(board: TeamBoard) -> None:
    guards = guards_for("docs", max_chain=1, max_bounces=None)
    board.queue_work("developer", "plan", by=SYSTEM_MEMBER)
    dev_slot = board.open_turn("developer", 1)
    board.pull_work("developer", token=dev_slot.token)
    board.queue_work("docs", "write", by="developer", token=dev_slot.token)
    docs_slot = board.open_turn("docs", 1)
    board.pull_work("docs", token=docs_slot.token)
    skills = MemberSkills(member="docs", board=board,
                          turn_token=lambda: docs_slot.token, handoff_guards=guards)
    before = board.tasks()
    payload = skills.queue_work(SkillContext(tool="team_queue_work", session_id="s",
                                             request_id="9"), owner="reviewer", task="check")
    assert payload["success"] is False
    assert payload["contentItems"][0]["text"] == (
        "team_queue_work refused: handoff chain too long: developer > docs > reviewer is"
        " 2 handoffs (cap 1)")
    assert board.tasks() == before


def test_limits_are_collected_through_all_of_only(board: TeamBoard) -> None:
    over = RunFacts(round=5, turns=9, tool_calls=0)
    strict = crit.all_of(crit.queues_empty(), crit.budget(turns=4), crit.max_rounds(3))
    assert strict.broken_limits(board, over) == [
        "used 9 turns (budget 4)", "used 5 rounds (max 3)"]
    lenient = crit.any_of(crit.queues_empty(), crit.budget(turns=4))
    assert lenient.broken_limits(board, over) == []
    assert crit.not_(crit.budget(turns=4)).broken_limits(board, over) == []
