"""The playbook brain on the default member prompts and the five S5 team_* tools."""

from __future__ import annotations

import pytest

from teammesh.brain.playbook import decide
from teammesh.brain.types import ToolSpec, UserMessage
from teammesh.mesh.prompts import DEFAULT_ROLES, INITIAL_DEVELOPER_TASK, default_prompt

from .schemas import run_turn, schema_errors, spec_responder, team_tools

TARGETS = {"developer": ["docs", "reviewer"], "docs": ["reviewer"], "reviewer": []}


def _tools_for(member: str) -> list[ToolSpec]:
    # The owner enum shows the member's allowed targets (A2); the reviewer has none, so its
    # enum falls back to the whole roster, as an unrestricted team would have.
    return team_tools(TARGETS[member] or ["developer", "docs", "reviewer"])


def _assert_schema_valid(tools: list[ToolSpec], calls: list) -> None:  # type: ignore[type-arg]
    by_name = {t.name: t for t in tools}
    for call in calls:
        assert call.name in by_name
        assert schema_errors(call.arguments, by_name[call.name].input_schema) == []


def test_developer_with_task_publishes_hands_off_and_marks_done() -> None:
    tools = _tools_for("developer")
    calls, message, _ = run_turn(
        default_prompt("developer", TARGETS["developer"]), tools,
        spec_responder(INITIAL_DEVELOPER_TASK),
    )
    assert [c.name for c in calls] == [
        "team_pull_work", "team_publish_artifact", "team_queue_work", "team_queue_work",
        "team_mark_done",
    ]
    assert calls[0].arguments == {}
    assert calls[1].arguments["kind"] == "implementation"
    assert "repository-summary workflow" in calls[1].arguments["summary"]
    assert [c.arguments["owner"] for c in calls[2:4]] == ["docs", "reviewer"]
    assert all("repository-summary" in c.arguments["task"] for c in calls[2:4])
    _assert_schema_valid(tools, calls)
    first_line = message.splitlines()[0]
    assert first_line == (
        "published implementation, queued docs and reviewer handoffs, marked done."
    )


@pytest.mark.parametrize("member", ["developer", "docs", "reviewer"])
def test_null_task_reads_board_and_replies_idle(member: str) -> None:
    tools = _tools_for(member)
    calls, message, _ = run_turn(default_prompt(member, TARGETS[member]), tools,
                                 spec_responder(None))
    assert [c.name for c in calls] == ["team_pull_work", "team_read_board"]
    assert calls[1].arguments == {}  # `limit` is optional: omitted
    assert message.splitlines()[0] == "idle, no task queued, read the board."
    assert "Board: queues developer=0, docs=0, reviewer=0" in message


def test_docs_with_task_hands_off_to_reviewer_only() -> None:
    tools = _tools_for("docs")
    calls, message, _ = run_turn(default_prompt("docs", ["reviewer"]), tools,
                                 spec_responder("docs follow-up from developer: plan X"))
    assert [c.name for c in calls] == [
        "team_pull_work", "team_publish_artifact", "team_queue_work", "team_mark_done",
    ]
    assert calls[1].arguments["kind"] == "documentation"
    assert calls[2].arguments["owner"] == "reviewer"
    _assert_schema_valid(tools, calls)
    assert message.splitlines()[0] == (
        "published documentation, queued reviewer handoff, marked done."
    )


def test_reviewer_with_task_reviews_reads_board_and_closes_loop() -> None:
    tools = _tools_for("reviewer")
    calls, message, _ = run_turn(default_prompt("reviewer", []), tools,
                                 spec_responder("reviewer follow-up from docs: plan X"))
    assert [c.name for c in calls] == [
        "team_pull_work", "team_publish_artifact", "team_read_board", "team_mark_done",
    ]
    assert calls[1].arguments["kind"] == "review"
    _assert_schema_valid(tools, calls)
    assert message.splitlines()[0] == (
        "published review, read the board, marked done."
    )


def test_decide_is_deterministic_and_stateless() -> None:
    tools = _tools_for("developer")
    prompt = default_prompt("developer", TARGETS["developer"])
    first = decide([UserMessage(prompt)], tools)
    second = decide([UserMessage(prompt)], tools)
    assert first == second
    assert first.tool_calls[0].name == "team_pull_work"


def test_default_roles_are_the_seed_roles() -> None:
    assert set(DEFAULT_ROLES) == {"developer", "docs", "reviewer"}
    prompt = default_prompt("developer", ["docs", "reviewer"])
    lines = prompt.splitlines()
    assert lines[0] == "You are the developer."
    assert lines[1] == "Role: implement features and hand off documentation/review work."
    assert "Process for this turn:" in lines
    assert lines[-1] == "Always perform at least one team_* tool call before your final reply."


def test_summaries_are_one_short_sentence_and_the_review_names_what_it_reviewed() -> None:
    tools = _tools_for("reviewer")
    calls, _, _ = run_turn(
        default_prompt("reviewer", []), tools,
        spec_responder(f"reviewer follow-up from docs: {INITIAL_DEVELOPER_TASK}"),
    )
    summary = next(c.arguments["summary"] for c in calls if c.name == "team_publish_artifact")
    assert summary == (
        "The reviewer reviewed the implementation and documentation for: Draft a concise "
        "implementation plan for a repository-summary workflow."
    )
    assert summary.count(".") == 1
