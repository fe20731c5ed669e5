"""The member prompt texts, sent each turn (skill catalog injection off).

Every member gets the same structure (team-mesh.md "Default member prompts"):
`You are the <member>.` / `Role: <role>.` / runtime constraints / `Process for this turn:`
numbered steps / the closing rule. The step wording is what the playbook brain understands
(exact tool names, one action shape per step), and reads naturally for a real model too.
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_ROLES: dict[str, str] = {
    "developer": "implement features and hand off documentation/review work",
    "docs": "write concise operator-facing documentation from implementation artifacts",
    "reviewer": "validate implementation/docs quality and close the loop",
}

INITIAL_DEVELOPER_TASK = (
    "Draft a concise implementation plan for a repository-summary workflow, without running "
    "commands or editing files, then hand off one docs task and one validation task."
)

RUNTIME_CONSTRAINTS: tuple[str, ...] = (
    "This is a team-coordination run.",
    "Do not run shell commands.",
    "Do not edit files.",
    "Use only the team_* tools.",
)

CLOSING_RULE = "Always perform at least one team_* tool call before your final reply."

_PUBLISH_WHAT = {
    "developer": "a one-sentence summary of your implementation plan",
    "docs": "a one-sentence summary of the documentation you wrote",
    "reviewer": "your one-sentence review verdict",
}


def _handoffs(targets: Sequence[str]) -> str:
    phrases = [f"one {target} handoff" for target in targets]
    if len(phrases) > 1:
        joined = ", ".join(phrases[:-1]) + " and " + phrases[-1]
    else:
        joined = phrases[0]
    return f"Queue exactly {joined} using team_queue_work."


def default_steps(member: str, handoff_targets: Sequence[str]) -> list[str]:
    """The process steps for a member: pull, idle-or-publish, then either hand off to every
    target (once each) and mark done, or — with no targets, or as the reviewer — read the
    board and close the loop."""
    publish_what = _PUBLISH_WHAT.get(member, "a one-sentence summary of your work")
    steps = [
        "Call team_pull_work once.",
        "If the task is null, call team_read_board and reply with one short idle status.",
        f"If there is a task, call team_publish_artifact with {publish_what}.",
    ]
    targets = [t for t in handoff_targets if t != member]
    if targets and member != "reviewer":
        steps.append(_handoffs(targets))
        steps.append("Call team_mark_done and stop queueing.")
    else:
        steps.append("Call team_read_board; if the board is coherent, call team_mark_done.")
        steps.append("Do not queue follow-up work unless blocked.")
    return steps


def build_prompt(
    member: str,
    role: str,
    steps: Sequence[str],
    extra_constraints: Sequence[str] = (),
    runtime_constraints: Sequence[str] = RUNTIME_CONSTRAINTS,
) -> str:
    lines = [f"You are the {member}.", f"Role: {role.rstrip('.')}.", "Runtime constraints:"]
    lines.extend(f"- {c}" for c in (*runtime_constraints, *extra_constraints))
    lines.append("Process for this turn:")
    lines.extend(f"{number}. {step}" for number, step in enumerate(steps, start=1))
    lines.append(CLOSING_RULE)
    return "\n".join(lines)


def default_prompt(member: str, handoff_targets: Sequence[str], role: str | None = None) -> str:
    """The whole prompt for a member of any roster."""
    member_role = role or DEFAULT_ROLES.get(member, f"contribute as the {member} and hand off")
    return build_prompt(member, member_role, default_steps(member, handoff_targets))
