"""Team files: the built-in team is the seed's; invalid files are refused with file, key and
reason before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from teammesh.mesh.prompts import INITIAL_DEVELOPER_TASK, default_prompt
from teammesh.mesh.teamfile import TeamFileError, builtin_team, load_team

REPO = Path(__file__).resolve().parents[2]


def test_builtin_team_is_the_seed() -> None:
    team = builtin_team()
    assert team.roster == ("developer", "docs", "reviewer")
    assert [(t.owner, t.text) for t in team.tasks] == [("developer", INITIAL_DEVELOPER_TASK)]
    assert (team.rounds, team.turn_timeout, team.concurrency) == (9, 120.0, 1)
    dev = team.member("developer")
    assert dev.render_prompt() == default_prompt("developer", ("docs", "reviewer"))
    assert dev.session_kwargs() == {"cwd": ".", "approval_policy": "never",
                                    "filesystem_sandbox": "workspace-write"}
    assert dev.targets is None  # the owner enum is the whole roster, as in the seed
    assert team.completion.description == "all of (member done: reviewer; every queue empty)"


def test_six_member_file_loads() -> None:
    team = load_team(REPO / "teams" / "six.toml")
    assert len(team.roster) == 6
    assert team.member("backend").targets == ("tester", "writer")
    assert team.policies.max_chain == 4 and team.policies.max_bounces == 2


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "team.toml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = '[[members]]\nname = "a"\n[[members]]\nname = "b"\n[[tasks]]\nowner = "a"\ntext = "go"\n'

INVALID = [
    ("[team]\nrounds = 0\n" + BASE, "team.rounds", "must be at least 1, got 0"),
    ("[team]\nturn_timeout = -1\n" + BASE, "team.turn_timeout", "must be greater than 0"),
    ("[team]\nturn_timeout = inf\n" + BASE, "team.turn_timeout",
     "must be a finite number of seconds"),
    ("[team]\nturn_timeout = nan\n" + BASE, "team.turn_timeout",
     "must be a finite number of seconds"),
    ("[team]\ncolour = 1\n" + BASE, "team.colour", "unknown key"),
    ("extra = 1\n" + BASE, "extra", "unknown key"),
    ('[[tasks]]\nowner = "a"\ntext = "go"\n', "members", "declare at least one"),
    ('[[members]]\nname = "a"\n', "tasks", "declare at least one"),
    (BASE + '[[members]]\nname = "a"\n', "members[2].name", "duplicate member 'a'"),
    (BASE + '[[members]]\nname = "Bad Name"\n', "members[2].name", "must be lower-case"),
    (BASE + '[[members]]\nname = "c"\nhandoffs = ["zed"]\n', "members[2].handoffs[0]",
     "unknown member 'zed'"),
    (BASE + '[[members]]\nname = "c"\nhandoffs = ["a"]\ntargets = ["b"]\n',
     "members[2].handoffs", "not in its targets"),
    (BASE + '[[members]]\nname = "c"\n[members.session]\napproval_policy = "always"\n',
     "members[2].session.approval_policy", "must be one of"),
    (BASE + '[[tasks]]\nowner = "nobody"\ntext = "x"\n', "tasks[1].owner",
     "unknown member 'nobody'"),
    (BASE + '[[tasks]]\nowner = "a"\n', "tasks[1].text", "is required"),
    (BASE + "[policies]\nmax_chain = 0\n", "policies.max_chain", "must be at least 1"),
    (BASE + '[[policies.approvals]]\nowner = "a"\nanswer = "maybe"\n',
     "policies.approvals[0].answer", "must be one of yes, no, ask"),
    (BASE + '[completion]\nmember_done = "q"\n', "completion.member_done",
     "unknown member 'q'"),
    (BASE + '[completion]\nquality = "vibes"\n', "completion.quality",
     "unknown quality check 'vibes'"),
    (BASE + "[completion]\nall_of = []\n", "completion.all_of", "non-empty list"),
    (BASE + "[completion]\nsoon = true\n", "completion.soon", "unknown criterion"),
    (BASE + "[completion]\nqueues_empty = true\nmax_rounds = 3\n", "completion",
     "exactly one key"),
    (BASE + "[completion]\nbudget = { minutes = 3 }\n", "completion.budget.minutes",
     "unknown key"),
    ("[team\n", "(syntax)", ""),
]


@pytest.mark.parametrize(("text", "key", "reason"), INVALID)
def test_invalid_files_name_file_key_and_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TeamFileError) as caught:
        load_team(path)
    assert caught.value.file == str(path)
    assert caught.value.key == key
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}: {key}: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TeamFileError, match="No such file"):
        load_team(tmp_path / "absent.toml")


def test_member_settings(tmp_path: Path) -> None:
    path = _write(tmp_path, """
[session]
model = "playbook"
approval_policy = "on-request"
[[members]]
name = "lead"
role = "lead the work"
model = "playbook?think_ms=5"
turn_timeout = 7
constraints = ["Be brief."]
[members.session]
filesystem_sandbox = "read-only"
[[members]]
name = "helper"
prompt = "You are the helper. Call team_pull_work once."
[[tasks]]
owner = "lead"
text = "start"
""")
    team = load_team(path)
    lead, helper = team.members
    assert lead.session_kwargs() == {
        "cwd": ".", "approval_policy": "on-request", "filesystem_sandbox": "read-only",
        "model": "playbook?think_ms=5"}
    assert lead.turn_timeout == 7.0
    assert "- Be brief." in lead.render_prompt()
    assert helper.model == "playbook"
    assert helper.render_prompt() == "You are the helper. Call team_pull_work once."
    assert team.completion.description == "all of (member done: helper; every queue empty)"


def test_team_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "crew.toml"
    path.write_text(BASE, encoding="utf-8")
    assert load_team(path).name == "crew"
    path.write_text('[team]\nname = "alpha"\n' + BASE, encoding="utf-8")
    assert load_team(path).name == "alpha"


def test_quality_check_by_module_path(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(BASE + '[completion]\nquality = "tests.mesh.quality_checks:no_todo"\n',
                    encoding="utf-8")
    team = load_team(path)
    assert team.completion.description == "quality: tests.mesh.quality_checks:no_todo"
    path.write_text(BASE + '[completion]\nquality = "tests.mesh.quality_checks:nothing"\n',
                    encoding="utf-8")
    with pytest.raises(TeamFileError, match="cannot load quality check"):
        load_team(path)
    path.write_text(BASE + '[completion]\nquality = "tests.mesh.quality_checks:LIMIT"\n',
                    encoding="utf-8")
    with pytest.raises(TeamFileError, match="is not callable"):
        load_team(path)


@pytest.mark.parametrize("path", sorted((REPO / "teams").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_team_file_loads(path: Path) -> None:
    team = load_team(path)
    assert team.roster and team.tasks
