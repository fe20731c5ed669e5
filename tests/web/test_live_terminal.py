"""The terminal live view shows what the web board shows, in words: elapsed time, each
member's state, the counters, and a pending approval's question with its answer keys."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from teammesh.mesh.board import create_board
from teammesh.mesh.live import render
from teammesh.mesh.teamfile import builtin_team


def _text(tmp_path: Path, prepare: str) -> str:
    team = builtin_team()
    board = create_board(run_id="live", team=team.name, roster=team.roster,
                         path=tmp_path / "b.sqlite")
    try:
        board.queue_work("developer", "plan the summary", by="system")
        slot = board.open_turn("developer", 1)
        board.pull_work("developer", token=slot.token)
        if prepare == "approval":
            board.open_approval("developer", "team_queue_work", "approve handoff?", key="k")
        failed = board.open_turn("docs", 1)
        board.settle_turn(failed.token, ok=False, reason="gateway went away")
        board.mark_done("reviewer")
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(render(board))
        return console.export_text()
    finally:
        board.close()


def test_states_counters_and_the_question_with_its_keys(tmp_path: Path) -> None:
    text = _text(tmp_path, "approval")
    assert "live · team default · round 0 · running · 0:0" in text
    assert "waiting for approval" in text  # developer's state
    assert "waiting for approval #1: approve handoff? [y/N]" in text
    assert "failed: gateway went away" in text
    assert "done" in text
    assert "turns 2 · tool calls 0 · failed turns 1 · dead letters 0" in text


def test_a_turn_running_shows_its_seconds(tmp_path: Path) -> None:
    text = _text(tmp_path, "")
    assert "turn running 0 s" in text
    assert "no approval pending" in text
