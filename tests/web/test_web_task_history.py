"""A task's history on the page: which turns claimed it (member, round, how the turn ended,
the attempt) and when, replayed from the run record over a real SQLite board; two tasks
with the same owner and text are told apart the way the board's queue chose them. Read over
a real server's `/api/state`, as the page reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, create_board
from teammesh.mesh.board.call_notes import CallNote
from teammesh.mesh.task_history import PER_TASK, claims_by_task
from tests.web.helpers import served_board

pytestmark = pytest.mark.anyio


def _turn(board: TeamBoard, member: str, round_number: int, *, ok: bool | None) -> None:
    """One turn of `member` that pulls once; settled ok / failed, or left open (None)."""
    slot = board.open_turn(member, round_number)
    key = f"sess-{member}:{slot.token}"
    board.pull_work(member, token=slot.token, key=key,
                    call=CallNote(key, member, slot.token, "team_pull_work", {}))
    if ok is not None:
        board.settle_turn(slot.token, ok=ok, reason=None if ok else "the model erred")


def _claims(task: dict[str, Any]) -> list[tuple[str, int, str, int]]:
    return [(c["member"], c["round"], c["turn_state"], c["attempt"]) for c in task["claims"]]


async def test_the_page_shows_each_tasks_claims(tmp_path: Path) -> None:
    async with served_board(tmp_path) as served, served.client() as client:
        board = served.board
        board.queue_work("developer", "review it", by=SYSTEM_MEMBER)
        board.queue_work("developer", "review it", by=SYSTEM_MEMBER)  # same owner and text
        board.queue_work("docs", "write it up", by=SYSTEM_MEMBER)
        _turn(board, "developer", 1, ok=False)  # claims the first; it goes back
        _turn(board, "developer", 2, ok=True)   # claims the first again; done
        _turn(board, "developer", 3, ok=None)   # claims the second; still running
        served.feed.refresh()
        await served.sign_in(client)
        state = (await client.get("/api/state")).json()
    first, second, docs = state["tasks"]
    assert first["status"] == "done" and second["status"] == "claimed"
    assert _claims(first) == [("developer", 1, "failed", 1), ("developer", 2, "ok", 2)]
    assert _claims(second) == [("developer", 3, "open", 1)]
    assert _claims(docs) == []
    claim = first["claims"][0]
    assert claim["claimed_at"] is not None and claim["turn_ended_at"] >= claim["claimed_at"]


def test_a_tasks_history_is_bounded(tmp_path: Path) -> None:
    board = create_board(run_id="r", team="default", roster=("developer", "docs"),
                         path=tmp_path / "board.sqlite", max_attempts=100)
    try:
        board.queue_work("developer", "flaky", by=SYSTEM_MEMBER)
        for round_number in range(1, PER_TASK + 4):
            _turn(board, "developer", round_number, ok=False)
        (task,) = board.tasks()
        claims = claims_by_task(board.tasks(), board.run_record())[task.id]
    finally:
        board.close()
    assert len(claims) == PER_TASK
    assert claims[-1].attempt == PER_TASK + 3 and claims[-1].round == PER_TASK + 3  # newest
