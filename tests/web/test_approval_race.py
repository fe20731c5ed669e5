"""The terminal and the board answer one approval ONCE, whichever is first.

A real SQLite board, the real gate and the real terminal prompt reading a pipe (what a
user types); "the page" is a second `TeamBoard` on the same file deciding with the web's
compare-and-set, as `teammesh board serve` in another process would.
"""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest

from teammesh.mesh.board import TeamBoard, create_board, open_board
from teammesh.mesh.policies import ApprovalGate, ApprovalRule
from teammesh.mesh.terminal_prompt import TerminalPrompt

pytestmark = pytest.mark.anyio
RULES = (ApprovalRule(member="docs", tool="team_mark_done", answer="ask"),)


def _board(tmp_path: Path) -> TeamBoard:
    return create_board(run_id="run-20260101-000000-abcdef", team="t",
                        roster=("developer", "docs"), path=tmp_path / "b.sqlite")


async def _pending(board: TeamBoard) -> int:
    for _ in range(400):
        pending = [a for a in board.approvals() if a.state == "pending"]
        if pending:
            return pending[0].id
        await asyncio.sleep(0.01)
    raise AssertionError("the gate never opened its question")


async def test_the_page_answers_first_and_the_terminal_is_told(tmp_path: Path) -> None:
    board = _board(tmp_path)
    read, write = os.pipe()
    shown = io.StringIO()
    prompt = TerminalPrompt(stdin=os.fdopen(read), out=shown)
    gate = ApprovalGate(RULES, board, prompt, board_answers=True)
    page = open_board(tmp_path / "b.sqlite", board.run_id)
    try:
        check = asyncio.ensure_future(gate.check("docs", "team_mark_done", {}, "key-1"))
        approval_id = await _pending(board)
        _, first = page.first_answer(approval_id, approved=True, by="web")
        assert first
        assert await asyncio.wait_for(check, 10) is None  # approved: the call goes ahead
        assert "[y/N]" in shown.getvalue()
        assert "already answered: approved by web" in shown.getvalue()
        # The user's late "n" answers nothing: the next question gets the next line.
        os.write(write, b"n\n")
        await asyncio.sleep(0.2)
        second = asyncio.ensure_future(gate.check("docs", "team_mark_done", {}, "key-2"))
        await asyncio.sleep(0.2)
        os.write(write, b"y\n")
        assert await asyncio.wait_for(second, 10) is None
        assert [(a.state, a.answered_by) for a in board.approvals()] == [
            ("approved", "web"), ("approved", "operator")]
    finally:
        os.close(write)
        page.close()
        board.close()


async def test_the_terminal_answers_first_and_the_page_loses(tmp_path: Path) -> None:
    board = _board(tmp_path)
    read, write = os.pipe()
    prompt = TerminalPrompt(stdin=os.fdopen(read), out=io.StringIO())
    gate = ApprovalGate(RULES, board, prompt, board_answers=True)
    page = open_board(tmp_path / "b.sqlite", board.run_id)
    try:
        check = asyncio.ensure_future(gate.check("docs", "team_mark_done", {}, "key-1"))
        approval_id = await _pending(board)
        os.write(write, b"\n")  # Enter: no
        reason = await asyncio.wait_for(check, 10)
        assert reason == "team_mark_done by docs declined by the operator"
        settled, first = page.first_answer(approval_id, approved=True, by="web")
        assert not first and settled is not None and settled.state == "declined"
    finally:
        os.close(write)
        page.close()
        board.close()


async def test_without_a_terminal_the_gate_waits_for_the_board(tmp_path: Path) -> None:
    """`--web` with no terminal (a service, CI): the page is the only answerer; the pending
    row survives a runner restart, so a later answer still counts for the replayed call."""
    board = _board(tmp_path)
    page = open_board(tmp_path / "b.sqlite", board.run_id)
    try:
        # The first runner asked and crashed while waiting: the question stays pending.
        left = board.open_approval("docs", "team_mark_done", "approve?", key="k")
        restarted = ApprovalGate(RULES, board, None, board_answers=True)
        again = asyncio.ensure_future(restarted.check("docs", "team_mark_done", {}, "k"))
        assert await _pending(board) == left.id  # the replayed call waits on the same row
        await asyncio.sleep(0.3)
        assert not again.done()
        page.first_answer(left.id, approved=False, by="web")
        assert await asyncio.wait_for(again, 10) == "team_mark_done by docs declined by web"
        assert len(board.approvals()) == 1
    finally:
        page.close()
        board.close()


async def test_the_page_answering_one_of_two_identical_questions_leaves_the_other_open(
        tmp_path: Path) -> None:
    """Two calls alike (same member, tool, arguments) ask the same question twice. The page
    answers the second: the first stays open on the terminal for the operator. Before: the
    terminal withdrew by question text, dropped the FIRST one and the gate recorded it as
    declined by the operator, who had answered nothing."""
    board = _board(tmp_path)
    read, write = os.pipe()
    shown = io.StringIO()
    prompt = TerminalPrompt(stdin=os.fdopen(read), out=shown)
    gate = ApprovalGate(RULES, board, prompt, board_answers=True)
    page = open_board(tmp_path / "b.sqlite", board.run_id)
    try:
        first = asyncio.ensure_future(gate.check("docs", "team_mark_done", {}, "key-1"))
        await _pending(board)
        second = asyncio.ensure_future(gate.check("docs", "team_mark_done", {}, "key-2"))
        for _ in range(400):
            if len(board.approvals()) == 2:
                break
            await asyncio.sleep(0.01)
        one, two = board.approvals()
        assert one.question == two.question
        assert page.first_answer(two.id, approved=True, by="web")[1]
        assert await asyncio.wait_for(second, 10) is None
        await asyncio.sleep(0.3)  # were the first withdrawn, the gate would decide it now
        assert board.approval(one.id).state == "pending"  # type: ignore[union-attr]
        os.write(write, b"y\n")
        assert await asyncio.wait_for(first, 10) is None
        settled = board.approval(one.id)
        assert settled is not None and (settled.state, settled.answered_by) == (
            "approved", "operator")
    finally:
        os.close(write)
        page.close()
        board.close()
