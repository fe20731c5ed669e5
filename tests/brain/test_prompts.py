"""The member prompt texts (teammesh.mesh.prompts): the structure of team-mesh.md."""

from __future__ import annotations

from teammesh.mesh.prompts import (
    CLOSING_RULE,
    INITIAL_DEVELOPER_TASK,
    build_prompt,
    default_steps,
)


def test_structure_with_extra_constraints() -> None:
    prompt = build_prompt("docs", "write docs.", ["Call team_pull_work once."],
                          extra_constraints=("Keep summaries under 20 words.",))
    assert prompt.splitlines() == [
        "You are the docs.",
        "Role: write docs.",
        "Runtime constraints:",
        "- This is a team-coordination run.",
        "- Do not run shell commands.",
        "- Do not edit files.",
        "- Use only the team_* tools.",
        "- Keep summaries under 20 words.",
        "Process for this turn:",
        "1. Call team_pull_work once.",
        CLOSING_RULE,
    ]


def test_default_steps_per_shape() -> None:
    developer = default_steps("developer", ["docs", "reviewer"])
    assert developer[3] == (
        "Queue exactly one docs handoff and one reviewer handoff using team_queue_work.")
    assert developer[4] == "Call team_mark_done and stop queueing."
    three = default_steps("planner", ["a", "b", "c"])
    assert three[3] == (
        "Queue exactly one a handoff, one b handoff and one c handoff using team_queue_work.")
    reviewer = default_steps("reviewer", ["developer"])  # the reviewer closes the loop
    assert reviewer[3:] == [
        "Call team_read_board; if the board is coherent, call team_mark_done.",
        "Do not queue follow-up work unless blocked.",
    ]
    assert default_steps("solo", ["solo"]) == default_steps("solo", [])  # no self-handoff


def test_initial_task_is_the_seed_task() -> None:
    assert INITIAL_DEVELOPER_TASK.startswith(
        "Draft a concise implementation plan for a repository-summary workflow")
    assert "one docs task and one validation task" in INITIAL_DEVELOPER_TASK
