"""The page's state is bounded however much an agent writes: the newest `LISTED` tasks and
artifacts, with the totals in the counters. Before: every task and artifact (each up to 8000
characters) went to every open page on every change, 20 MB for 2000 artifacts and 500 tasks.
A real server over a real SQLite board, filled as a chatty agent would."""

from __future__ import annotations

from pathlib import Path

import pytest

from teammesh.mesh.board import SYSTEM_MEMBER
from teammesh.mesh.board.core import MAX_TEXT_CHARS
from teammesh.web.feed import NUDGED_INTERVAL_S, REBUILD_BACKOFF, next_wait
from teammesh.web.snapshot import LISTED
from tests.web.helpers import served_board

pytestmark = pytest.mark.anyio
ARTIFACTS, TASKS = 2000, 500


async def test_a_chatty_agent_cannot_grow_the_page_state(tmp_path: Path) -> None:
    async with served_board(tmp_path) as served, served.client() as client:
        big = "x" * (MAX_TEXT_CHARS - 10)
        for i in range(ARTIFACTS):
            served.board.publish_artifact(member="developer", kind="note", summary=f"{big}{i}")
        for i in range(TASKS):
            served.board.queue_work("developer", f"{big}{i}", by=SYSTEM_MEMBER)
        served.feed.refresh()
        await served.sign_in(client)
        answer = await client.get("/api/state")
    state = answer.json()
    assert len(state["artifacts"]) == LISTED and len(state["tasks"]) == LISTED
    assert state["artifacts"][-1]["summary"].endswith(str(ARTIFACTS - 1))  # the newest
    assert state["tasks"][-1]["text"].endswith(str(TASKS - 1))
    assert state["counters"]["artifacts"] == ARTIFACTS
    assert state["counters"]["tasks"] == TASKS
    assert len(answer.content) < 4 * LISTED * MAX_TEXT_CHARS  # was ~20 MB


def test_a_slow_rebuild_spaces_the_next_one() -> None:
    """3000 refused calls with 16 KB arguments and results made a rebuild ~0.24 s of CPU in
    the runner's loop, up to 4 a second (a whole core) while the run kept changing. Now
    the feed waits REBUILD_BACKOFF times as long as its last rebuild took."""
    assert next_wait(NUDGED_INTERVAL_S, 0.001) == NUDGED_INTERVAL_S  # a small board: as before
    assert next_wait(NUDGED_INTERVAL_S, 0.24) == pytest.approx(0.24 * REBUILD_BACKOFF)
    share = 0.24 / (0.24 + next_wait(NUDGED_INTERVAL_S, 0.24))
    assert share <= 1 / (1 + REBUILD_BACKOFF) + 1e-9
