"""A hostile team file is refused with a short, bounded, terminal-safe error: nesting that
crashes tomllib, dotted keys that stall it, huge or endless files, thousands of problems,
control characters in keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from teammesh.mesh.teamfile import TeamFileError, load_team, team_from_text
from teammesh.mesh.teamfile_errors import MAX_SHOWN
from teammesh.mesh.teamfile_limits import MAX_KEY_PARTS, MAX_TEAM_FILE_BYTES

BASE = '[team]\nname = "x"\n[[members]]\nname = "a"\n[[tasks]]\nowner = "a"\ntext = "t"\n'
TEAMMESH = str(Path(sys.executable).with_name("teammesh"))


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("x = " + "[" * 5000 + "]" * 5000, "arrays or inline tables nested too deeply"),
        ("x = " + "{a = " * 3000 + "1" + "}" * 3000, "arrays or inline tables nested too deeply"),
        ("x" + ".x" * 50_000 + " = 1", f"a key of more than {MAX_KEY_PARTS} dotted parts"
                                       " (line 8)"),
        ("[" + ".".join(["t"] * 40_000) + "]", f"a key of more than {MAX_KEY_PARTS} dotted"
                                               " parts (line 8)"),
    ],
)
def test_nesting_that_crashes_or_stalls_tomllib_is_a_syntax_problem(
    extra: str, reason: str
) -> None:
    with pytest.raises(TeamFileError) as caught:
        team_from_text(BASE + extra + "\n", "f.toml")
    assert caught.value.problems == (("(syntax)", reason),)


def test_ordinary_dotted_keys_still_parse() -> None:
    team = team_from_text(BASE + "[policies]\nmax_attempts = 2\n", "f.toml")
    assert team.policies.max_attempts == 2


def test_a_huge_or_endless_file_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text(BASE + "# " + "x" * MAX_TEAM_FILE_BYTES + "\n")
    for path in (big, Path("/dev/zero")):
        with pytest.raises(TeamFileError) as caught:
            load_team(path)
        assert caught.value.problems == (
            ("(file)", f"larger than {MAX_TEAM_FILE_BYTES} bytes (a team file is a few KB)"),)


def test_thousands_of_problems_print_a_bounded_message_and_keep_them_all() -> None:
    members = "".join(f'[[members]]\nname = {i}\nbogus{i} = 1\n' for i in range(5000))
    with pytest.raises(TeamFileError) as caught:
        team_from_text('[[tasks]]\nowner = "a"\ntext = "t"\n' + members, "f.toml")
    assert len(caught.value.problems) == 10_000
    lines = str(caught.value).splitlines()
    assert len(lines) == MAX_SHOWN + 1
    assert lines[0] == "f.toml: members[0].name: must be a non-empty string"
    assert lines[-1] == f"f.toml: and {10_000 - MAX_SHOWN} more problems"


def test_keys_from_the_file_are_shown_escaped_and_cut_short() -> None:
    hostile = '"\\u001b]0;pwned\\u0007\\u001b[2J" = 1\n"' + "k" * 100_000 + '" = 2\n'
    with pytest.raises(TeamFileError) as caught:
        team_from_text(BASE + hostile, "f.toml")
    message = str(caught.value)
    assert "\x1b" not in message and "\x07" not in message
    assert "tasks[0].\\x1b]0;pwned\\x07\\x1b[2J: unknown key" in message
    assert len(message) < 1000
    assert caught.value.problems[0][0] == "tasks[0].\x1b]0;pwned\x07\x1b[2J"  # kept as read


def test_the_cli_refuses_a_crashing_team_file_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bomb.toml"
    bad.write_text(BASE + "x = " + "[" * 5000 + "]" * 5000 + "\n")
    env = {**os.environ, "TEAMMESH_BOARD": str(tmp_path / "board.db")}
    proc = subprocess.run([TEAMMESH, "run", str(bad)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == (f"teammesh run: invalid team file: {bad}: (syntax): arrays or"
                           " inline tables nested too deeply\n")


def test_the_key_scan_itself_cannot_stall_on_a_long_line() -> None:
    # A line of word characters and spaces with no `=` made the first scanner (a nested
    # quantifier) backtrack exponentially: the mutation fuzzer in test_bad_input hung on it.
    # A stall here fails by pytest-timeout; the answers must stay right too.
    from teammesh.mesh.teamfile_limits import MAX_KEY_PARTS, text_problem

    assert text_problem("prompt  " + "word " * 4000 + "\n") is None
    assert text_problem("a" * 100_000) is None
    deep = ".".join(["x"] * (MAX_KEY_PARTS + 1))
    assert text_problem(f"ok = 1\n{deep} = 2\n") == (
        "(syntax)", f"a key of more than {MAX_KEY_PARTS} dotted parts (line 2)")
    assert text_problem(f"[{deep}]\n") is not None
    assert text_problem(f'"{deep}" . y = 1\n') is not None
