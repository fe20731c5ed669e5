"""The team the scale benchmark runs: N workers, T tasks queued on the board by the system
(round-robin over the workers); each turn a worker claims one task (`team_pull_work`) and
publishes one artifact about it, so every task is one turn and two tool calls."""

from __future__ import annotations

import math

from teammesh.mesh import criteria as crit
from teammesh.mesh.team import InitialTask, Member, Team

WORKER_STEPS = (
    "Call team_pull_work once.",
    "If the task is null, reply with one short idle status.",
    "If there is a task, call team_publish_artifact with a one-sentence summary of your work.",
)
CALLS_PER_TASK = 2


def worker_names(members: int) -> tuple[str, ...]:
    return tuple(f"w{i:03d}" for i in range(members))


def scale_team(members: int, tasks: int) -> Team:
    names = worker_names(members)
    return Team(
        name="scale",
        members=tuple(Member(name=n, role="work the queue", steps=WORKER_STEPS)
                      for n in names),
        tasks=tuple(InitialTask(owner=names[i % members], text=f"task {i}: summarise part {i}")
                    for i in range(tasks)),
        completion=crit.queues_empty(),
        rounds=math.ceil(tasks / members) + 2,
        turn_timeout=120.0,
        concurrency=members,
    )
