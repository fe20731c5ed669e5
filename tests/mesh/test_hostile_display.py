"""Text from a team file or a model is shown, never obeyed, on the operator's terminal.

The live view (rich): a task's text, an artifact's summary or the team's name with rich
markup in it is shown literally (before: `[/bold]` raised MarkupError and ended the run,
`teammesh: internal error`; `[link=…]` drew a terminal hyperlink). The approval question: a
handoff's owner (the model's text, checked against the roster only later) with escape or
bidi characters is escaped on the board and on the terminal prompt (before: raw, so the
model could redraw the question the operator answers). Real board files, the real prompt.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from rich.console import Console

from teammesh.mesh.board import SYSTEM_MEMBER, create_board
from teammesh.mesh.live import render
from teammesh.mesh.policies import ApprovalGate, ApprovalRule
from teammesh.mesh.teamfile import TeamFileError, builtin_team, team_from_text
from teammesh.mesh.terminal_prompt import TerminalPrompt

MARKUP = "[/bold] see [link=https://evil.example/]approve here[/link] [blink]now[/blink]"
RAW = ("\x1b", "\x9b", "\u202e", "\x07")


def test_markup_in_board_text_is_shown_literally(tmp_path: Path) -> None:
    team = builtin_team()
    board = create_board(run_id="live", team="[/red] team", roster=team.roster,
                         path=tmp_path / "b.sqlite")
    try:
        board.queue_work("developer", MARKUP, by=SYSTEM_MEMBER)
        slot = board.open_turn("developer", 1)
        board.pull_work("developer", token=slot.token)
        board.publish_artifact(member="developer", kind="[/x]", summary=MARKUP)
        out = io.StringIO()
        console = Console(file=out, force_terminal=True, width=200, record=True)
        console.print(render(board))
        shown = console.export_text()
    finally:
        board.close()
    assert "\x1b]8;" not in out.getvalue()  # no hyperlink
    assert "[/bold] see [link=https://evil.exa" in shown and "[/red] team" in shown
    assert "[/x]" in shown


@pytest.mark.anyio
async def test_a_hostile_owner_cannot_redraw_the_approval_question(tmp_path: Path) -> None:
    team = builtin_team()
    board = create_board(run_id="ask", team=team.name, roster=team.roster,
                         path=tmp_path / "b.sqlite")
    read_end = io.StringIO()
    stdin = _LineAfter("y\n")
    prompt = TerminalPrompt(stdin=stdin, out=read_end)
    gate = ApprovalGate((ApprovalRule("*", "*", "ask"),), board, prompt)
    owner = "\r\x1b[2K? approve handoff developer -> reviewer\u202e\x9b1A\x07"
    try:
        reason = await gate.check("developer", "team_queue_work",
                                  {"owner": owner, "task": "x"}, "k1")
        question = board.approvals()[0].question
    finally:
        stdin.release.set()
        board.close()
    assert reason is None  # the operator's y
    for char in RAW:
        assert char not in question and char not in read_end.getvalue(), hex(ord(char))
    assert "\\u001b[2K" in question and "\\u202e" in question  # shown, as escapes
    assert read_end.getvalue().count("\n") == 1  # one line: the \r is escaped too


class _LineAfter(io.StringIO):
    """stdin whose one line arrives once the question is shown, then end of input."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line, self.sent, self.release = line, False, threading.Event()

    def readline(self, size: int | None = -1) -> str:
        if not self.sent:
            self.sent = True
            return self.line
        self.release.wait(10)
        return ""


# As a TOML file writes them (TOML itself refuses raw control characters).
@pytest.mark.parametrize("name", ["ev\\u001b]0;pwn\\u0007il", "team\\u202eeman", "a\\u009bb"])
def test_a_team_name_with_control_or_bidi_characters_is_refused(name: str) -> None:
    """Before: taken as given, then printed raw by `teammesh runs`, `runs show` and `board
    show` (a shared team file could drive the terminal of whoever ran it)."""
    text = f'[team]\nname = "{name}"\n[[members]]\nname = "dev"\n[[tasks]]\nowner = "dev"\n' \
           'text = "go"\n'
    with pytest.raises(TeamFileError) as caught:
        team_from_text(text, "t.toml")
    assert "team.name" in str(caught.value) and "plain text" in str(caught.value)
    assert team_from_text(text.replace(name, "ünïcode team ✓"), "t.toml").name == (
        "ünïcode team ✓")


def test_board_show_and_runs_print_board_text_inert(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A board another program wrote (its team name, a task, an artifact with a bidi
    override): `board show` and `runs` print the escapes, never the raw characters."""
    from teammesh.cli import main

    team = builtin_team()
    path = tmp_path / "b.sqlite"
    board = create_board(run_id="hostile", team="team\u202eevil", roster=team.roster, path=path)
    try:
        board.queue_work("developer", "do it\u202e reversed", by=SYSTEM_MEMBER)
        slot = board.open_turn("developer", 1)
        board.pull_work("developer", token=slot.token)
        board.publish_artifact(member="developer", kind="code", summary="done\u2066 isolated")
    finally:
        board.close()
    assert main(["board", "show", "hostile", "--board", str(path)]) == 0
    assert main(["runs", "--board", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\u202e" not in out and "\u2066" not in out
    assert "\\u202e" in out and "\\u2066" in out  # shown as their escapes
