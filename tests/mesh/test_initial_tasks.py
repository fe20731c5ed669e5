"""A run's initial tasks go on the board in one transaction (mesh/board/initial_tasks.py), on
every store: all of them in order, each once however often the run is resumed, and none when
one of them is refused (the next run queues them all)."""

from __future__ import annotations

import pytest

from teammesh.mesh.board import BoardRefusal, TeamBoard
from teammesh.mesh.board.initial_tasks import queue_initial_tasks


def test_all_initial_tasks_are_queued_in_order_once(board: TeamBoard) -> None:
    tasks = [("docs", "write the guide"), ("developer", "build it"), ("docs", "proofread")]
    queue_initial_tasks(board, tasks)
    queue_initial_tasks(board, tasks)  # a resumed run: keyed, so nothing twice
    assert [(t.owner, t.text) for t in board.tasks()] == tasks
    assert board.queue_depth("docs") == 2


def test_a_refused_initial_task_leaves_none_queued(board: TeamBoard) -> None:
    with pytest.raises(BoardRefusal):
        queue_initial_tasks(board, [("docs", "write the guide"), ("nobody", "lost")])
    assert board.tasks() == []
    queue_initial_tasks(board, [("docs", "write the guide")])  # the board is usable after
    assert [t.text for t in board.tasks()] == ["write the guide"]
