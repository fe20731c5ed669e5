"""Run settings are resolved once (`mesh/run_settings.py`): for each setting, this run's flag
beats the member's table, which beats the team's, which beats the default; the model is
the one turned order (a member's own session model beats `--model`, the gateway default).

Teams are read from real team-file text, so "the file said nothing" is what the team file
reader makes of a missing key, not a hand-built stand-in.
"""

from __future__ import annotations

import pytest

from teammesh.mesh.brain_check import brains
from teammesh.mesh.embedded_runtime import ModelChoice
from teammesh.mesh.run_defaults import (
    DEFAULT_CONCURRENCY,
    DEFAULT_ROUNDS,
    DEFAULT_RUNTIME,
    DEFAULT_TURN_TIMEOUT,
)
from teammesh.mesh.run_settings import resolve_settings
from teammesh.mesh.team import Team
from teammesh.mesh.teamfile import team_from_text

TASKS = '[[tasks]]\nowner = "a"\ntext = "start"\n'


def _team(team_table: str = "", a: str = "", b: str = "", top: str = "") -> Team:
    text = (f"[team]\nname = \"t\"\n{team_table}\n{top}\n"
            f"[[members]]\nname = \"a\"\n{a}\n"
            f"[[members]]\nname = \"b\"\n{b}\n{TASKS}")
    return team_from_text(text, "<test>")


def test_defaults_apply_when_nothing_says_otherwise() -> None:
    settings = resolve_settings(_team())
    assert settings.rounds == DEFAULT_ROUNDS == 9
    assert settings.concurrency == DEFAULT_CONCURRENCY == 1
    assert settings.member("a").turn_timeout == DEFAULT_TURN_TIMEOUT == 120.0
    assert settings.member("a").model is None
    assert settings.member("a").endpoint is None
    assert settings.tool_call_deadline is None
    assert settings.approval_timeout is None


def test_rounds_flag_beats_team_beats_default() -> None:
    team = _team("rounds = 4")
    assert resolve_settings(_team()).rounds == DEFAULT_ROUNDS
    assert resolve_settings(team).rounds == 4
    assert resolve_settings(team, rounds=2).rounds == 2
    assert resolve_settings(_team(), rounds=3).rounds == 3


def test_concurrency_flag_beats_team_beats_default_and_is_at_least_one() -> None:
    team = _team("concurrency = 3")
    assert resolve_settings(_team()).concurrency == DEFAULT_CONCURRENCY
    assert resolve_settings(team).concurrency == 3
    assert resolve_settings(team, concurrency=2).concurrency == 2
    # 0 is "not given" (no flag accepts it): the team's value stands, never below one.
    assert resolve_settings(team, concurrency=0).concurrency == 3


def test_turn_timeout_flag_beats_member_beats_team_beats_default() -> None:
    team = _team("turn_timeout = 50", a="turn_timeout = 20")
    settings = resolve_settings(team)
    assert settings.member("a").turn_timeout == 20  # the member's own
    assert settings.member("b").turn_timeout == 50  # the team's
    assert resolve_settings(_team()).member("b").turn_timeout == DEFAULT_TURN_TIMEOUT
    flagged = resolve_settings(team, turn_timeout=7.5)
    assert flagged.member("a").turn_timeout == 7.5
    assert flagged.member("b").turn_timeout == 7.5


def test_model_member_beats_team_session_beats_flag() -> None:
    team = _team(a='model = "playbook?think_ms=5"', top='[session]\nmodel = "llm:x"')
    settings = resolve_settings(team, model="openai:gpt-4o")
    assert settings.member("a").model == "playbook?think_ms=5"  # the member's own
    assert settings.member("b").model == "llm:x"  # the team's [session]
    assert resolve_settings(_team(), model="openai:gpt-4o").member("b").model == "openai:gpt-4o"
    assert resolve_settings(_team()).member("b").model is None  # the runtime's own


def test_the_brain_line_reads_the_same_resolved_model() -> None:
    team = _team(a='model = "openai:gpt-4o-mini"')
    found = {b.member: b.model for b in brains(team, "llm", ModelChoice(model="openai:gpt-4o"),
                                                None)}
    assert found == {"a": "openai:gpt-4o-mini", "b": "openai:gpt-4o"}
    # Without --model, the runtime spec's own option is the fallback.
    found = {b.member: b.model for b in brains(team, "llm?model=openai:o3", ModelChoice(),
                                                None)}
    assert found == {"a": "openai:gpt-4o-mini", "b": "openai:o3"}


def test_endpoint_is_the_members_else_the_runs_gateway() -> None:
    team = _team(a='endpoint = "http://127.0.0.1:9"')
    settings = resolve_settings(team)
    assert settings.member("a").endpoint == "http://127.0.0.1:9"
    assert settings.member("b").endpoint is None


@pytest.mark.parametrize("key", ["tool_call_deadline", "approval_timeout"])
def test_deadlines_are_the_teams_policies_else_none(key: str) -> None:
    team = _team(top=f"[policies]\n{key} = 12")
    assert getattr(resolve_settings(team), key) == 12
    assert getattr(resolve_settings(_team()), key) is None


def test_unknown_member_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        resolve_settings(_team()).member("nobody")


def test_default_runtime_is_named_once() -> None:
    from teammesh.mesh.launch import LaunchSpec
    from teammesh.mesh.run_config import LaunchConfig

    assert LaunchConfig().runtime == LaunchSpec(team=_team()).runtime == DEFAULT_RUNTIME
