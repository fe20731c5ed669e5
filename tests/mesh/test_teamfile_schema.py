"""The team file's published JSON Schema (for editors) and its checks reporting every
problem at once, with the `<file>: <key>: <reason>` lines of one error."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from teammesh.mesh.team_cli import schema_text
from teammesh.mesh.teamfile import TeamFileError, load_team, team_json_schema
from teammesh.mesh.teamfile_criteria import CRITERION_NAMES

from .cli_runs import teammesh

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [*sorted((REPO / "teams").glob("*.toml")),
           REPO / "src" / "teammesh" / "mesh" / "default_team.toml"]
BASE = '[[members]]\nname = "a"\n[[members]]\nname = "b"\n[[tasks]]\nowner = "a"\ntext = "go"\n'


def test_checked_in_schema_is_the_models() -> None:
    checked_in = (REPO / "docs" / "team.schema.json").read_text(encoding="utf-8")
    assert checked_in == schema_text(), "run: teammesh team schema > docs/team.schema.json"


def test_cli_prints_the_schema(tmp_path: Path) -> None:
    result = teammesh(tmp_path, "team", "schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == schema_text()
    assert json.loads(result.stdout)["$schema"].endswith("/draft/2020-12/schema")


def test_schema_is_draft_2020_12_and_accepts_every_shipped_file() -> None:
    schema = team_json_schema()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for path in SHIPPED:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert [e.message for e in validator.iter_errors(data)] == [], path
        load_team(path)


def test_schema_names_every_criterion_of_the_grammar() -> None:
    branches = team_json_schema()["$defs"]["Criterion"]["oneOf"]
    assert [b["required"][0] for b in branches] == list(CRITERION_NAMES)


@pytest.mark.parametrize("text", [
    "[team]\nrounds = 0\n" + BASE,
    "[team]\ncolour = 1\n" + BASE,
    'extra = 1\n' + BASE,
    '[[members]]\nname = "a"\n',
    BASE + '[[members]]\nname = "Bad Name"\n',
    BASE + '[[members]]\nname = "c"\n[members.session]\napproval_policy = "always"\n',
    BASE + '[[policies.approvals]]\nanswer = "maybe"\n',
    BASE + "[completion]\nsoon = true\n",
    BASE + "[completion]\nqueues_empty = true\nmax_rounds = 3\n",
    BASE + "[completion]\nbudget = { minutes = 3 }\n",
])
def test_schema_refuses_what_the_loader_refuses(tmp_path: Path, text: str) -> None:
    path = tmp_path / "team.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TeamFileError):
        load_team(path)
    assert not Draft202012Validator(team_json_schema()).is_valid(tomllib.loads(text))


def _refused(tmp_path: Path, text: str) -> TeamFileError:
    path = tmp_path / "team.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TeamFileError) as caught:
        load_team(path)
    return caught.value


def test_every_shape_problem_at_once(tmp_path: Path) -> None:
    error = _refused(tmp_path, """
[team]
rounds = 0
turn_timeout = "soon"
[[members]]
name = "Bad Name"
colour = "red"
[[members]]
name = "b"
[members.session]
approval_policy = "always"
[[tasks]]
owner = "b"
[policies]
max_chain = true
""")
    problems: list[tuple[str, Any]] = list(error.problems)
    assert problems == [
        ("team.rounds", "must be at least 1, got 0"),
        ("team.turn_timeout", "must be a number of seconds"),
        ("members[0].name", "must be lower-case letters, digits, - or _ (at most 40,"
                            " starting with a letter)"),
        ("members[0].colour", "unknown key (allowed: constraints, endpoint, handoffs, model,"
                              " name, prompt, role, session, steps, targets, turn_timeout)"),
        ("members[1].session.approval_policy",
         "must be one of untrusted, on-failure, on-request, never"),
        ("tasks[0].text", "is required"),
        ("policies.max_chain", "must be an integer"),
    ]
    assert (error.key, error.reason) == problems[0]
    assert str(error).splitlines() == [f"{error.file}: {k}: {r}" for k, r in problems]


def test_every_roster_problem_at_once(tmp_path: Path) -> None:
    error = _refused(tmp_path, BASE + """
[[members]]
name = "a"
[[members]]
name = "c"
handoffs = ["zed", "b"]
targets = ["a"]
[[tasks]]
owner = "nobody"
text = "x"
[[policies.approvals]]
member = "ghost"
[completion]
member_done = ["a", "q"]
""")
    assert list(error.problems) == [
        ("members[2].name", "duplicate member 'a'"),
        ("members[3].handoffs[0]", "unknown member 'zed' (team: a, b, c)"),
        ("members[3].handoffs", "hands off to 'zed', which is not in its targets"),
        ("tasks[1].owner", "unknown member 'nobody' (team: a, b, c)"),
        ("policies.approvals[0].member", "unknown member 'ghost' (team: a, b, c)"),
        ("completion.member_done[1]", "unknown member 'q' (team: a, b, c)"),
    ]


def test_criterion_checked_beside_shape_problems(tmp_path: Path) -> None:
    error = _refused(tmp_path, BASE + '[policies]\nmax_chain = 0\n[completion]\nsoon = true\n')
    assert [key for key, _ in error.problems] == ["policies.max_chain", "completion.soon"]
