"""Which value of each run setting applies, resolved once for the whole run.

A setting can be said in up to four places: a flag of this run (the command line, or a
caller's `RunOptions`; on `--resume` the run's stored launch flags, see `run_config.py`),
the member's table of the team file, the team's table, and the defaults
(`run_defaults.py`). The first that says it wins, in that order:

    rounds, concurrency        flag > [team] > default         (concurrency at least 1)
    turn_timeout               flag > [[members]] > [team] > default
    model                      [[members]] (or [session]) > --model > the runtime's own
    endpoint                   [[members]] > None (the run's gateway)
    tool_call_deadline,
    approval_timeout           [policies] > None (no deadline)

The model is the one turned order: `--model` is the run's gateway default, which a member
naming its own session model (`model = ...`) overrides, as a session's model does on any
gateway. A runtime option such as `think_ms` travels inside the spec string that names the
runtime (`--runtime playbook?think_ms=200`, or a member's `model`), so it follows the
runtime's or the model's order. The team file folds its `[session]` table into each member
while it is read, so a member here already carries what the team gave it.

A flag that is None (or 0, which no flag accepts) is not given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from teammesh.mesh.team import Team


@dataclass(frozen=True)
class MemberSettings:
    """The settings that apply to one member's turns."""

    turn_timeout: float
    # The model its session asks for; None: the gateway's default (its runtime's own).
    model: str | None
    # The gateway its session lives on; None: the run's gateway.
    endpoint: str | None


@dataclass(frozen=True)
class RunSettings:
    """The settings in force for one run, every layer applied."""

    rounds: int
    concurrency: int
    tool_call_deadline: float | None
    approval_timeout: float | None
    members: Mapping[str, MemberSettings]

    def member(self, name: str) -> MemberSettings:
        return self.members[name]


def resolve_settings(team: Team, *, rounds: int | None = None,
                     turn_timeout: float | None = None, concurrency: int | None = None,
                     model: str | None = None) -> RunSettings:
    """The run's settings: this run's flags over each member's over the team's over the
    defaults (the team's fields hold the defaults where its file said nothing)."""
    members = {
        m.name: MemberSettings(turn_timeout=turn_timeout or m.turn_timeout or team.turn_timeout,
                               model=m.model or model,
                               endpoint=m.endpoint)
        for m in team.members
    }
    return RunSettings(
        rounds=rounds or team.rounds,
        concurrency=max(1, concurrency or team.concurrency),
        tool_call_deadline=team.policies.tool_call_deadline,
        approval_timeout=team.policies.approval_timeout,
        members=members,
    )
