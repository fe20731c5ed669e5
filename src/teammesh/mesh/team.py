"""The team, as a declared thing: roster, roles, prompts, session settings per member,
initial tasks, policies, completion criteria, rounds and timeouts (B3).

Team files (`teamfile.py`) build it; the built-in team file is the seed's team."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teammesh.mesh import criteria as crit
from teammesh.mesh.board import DEFAULT_MAX_ATTEMPTS
from teammesh.mesh.policies import ApprovalRule
from teammesh.mesh.prompts import build_prompt, default_steps

# Named in run_defaults.py; imported here by the name the team file reads them under.
from teammesh.mesh.run_defaults import DEFAULT_CONCURRENCY
from teammesh.mesh.run_defaults import DEFAULT_ROUNDS as DEFAULT_ROUNDS
from teammesh.mesh.run_defaults import DEFAULT_TURN_TIMEOUT as DEFAULT_TURN_TIMEOUT
from teammesh.mesh.workspace_prompts import WORKSPACE_CONSTRAINTS, workspace_steps

SEED_HANDOFFS: dict[str, tuple[str, ...]] = {
    "developer": ("docs", "reviewer"),
    "docs": ("reviewer",),
    "reviewer": (),
}

# The seed's session policy overrides (S3), overridable per member.
DEFAULT_SESSION: dict[str, Any] = {
    "cwd": ".",
    "approval_policy": "never",
    "filesystem_sandbox": "workspace-write",
}


@dataclass(frozen=True)
class Member:
    name: str
    role: str
    # Who this member's prompt hands work to (the steps); the `owner` enum is `targets`.
    handoffs: tuple[str, ...] = ()
    # Allowed handoff targets (the `owner` enum); None: the whole roster, as in the seed.
    targets: tuple[str, ...] | None = None
    prompt: str | None = None
    steps: tuple[str, ...] | None = None
    constraints: tuple[str, ...] = ()
    model: str | None = None
    session: dict[str, Any] = field(default_factory=dict)
    turn_timeout: float | None = None
    # The gateway this member's session lives on (federation); None: the run's gateway.
    endpoint: str | None = None

    # The team has a repository: this member works in its own worktree (its prompt says so).
    workspace: bool = False

    def render_prompt(self) -> str:
        if self.prompt is not None:
            return self.prompt
        if self.workspace:
            steps = self.steps if self.steps is not None else workspace_steps(self.name,
                                                                              self.handoffs)
            return build_prompt(self.name, self.role, steps, self.constraints,
                                runtime_constraints=WORKSPACE_CONSTRAINTS)
        steps = self.steps if self.steps is not None else default_steps(self.name,
                                                                        self.handoffs)
        return build_prompt(self.name, self.role, steps, self.constraints)

    def session_kwargs(self) -> dict[str, Any]:
        kwargs = {**DEFAULT_SESSION, **self.session}
        if self.model is not None:
            kwargs["model"] = self.model
        return kwargs


@dataclass(frozen=True)
class InitialTask:
    owner: str
    text: str


@dataclass(frozen=True)
class Budget:
    """At most `tokens` (input + output) and `usd`; None: no limit."""

    tokens: int | None = None
    usd: float | None = None

    def __bool__(self) -> bool:
        return self.tokens is not None or self.usd is not None


@dataclass(frozen=True)
class Policies:
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_chain: int | None = None
    max_bounces: int | None = None
    approvals: tuple[ApprovalRule, ...] = ()
    # Seconds an approval question may wait before it counts as a no.
    approval_timeout: float | None = None
    # Seconds a tool call may stay unanswered before the turn is interrupted (claims back).
    tool_call_deadline: float | None = None
    # Who merges reviewed commits into the integration branch (`integration.py`).
    integrator: str | None = None
    # Token / USD budgets of the whole run and of each member (`budgets.py`).
    budget: Budget = field(default_factory=Budget)
    member_budget: Budget = field(default_factory=Budget)


@dataclass(frozen=True)
class Team:
    name: str
    members: tuple[Member, ...]
    tasks: tuple[InitialTask, ...]
    completion: crit.Criterion
    rounds: int = DEFAULT_ROUNDS
    turn_timeout: float = DEFAULT_TURN_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY
    policies: Policies = field(default_factory=Policies)
    source: str = "<built-in>"
    # The team file's text (kept on the run's board, so a resume needs no file).
    text: str = ""
    # `[team] repo`: a worktree of it per member (`workspaces.py`); None: no workspaces.
    repo: str | None = None

    @property
    def roster(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(name)
