"""Shared by the SQL store tests: a board seeded with one queue of tasks, and a claimer that
pulls until the queue is empty (a module-level function, so spawned processes can run it)."""

from __future__ import annotations

import threading
from pathlib import Path

from teammesh.mesh.board import SYSTEM_MEMBER, create_board, open_board

ROSTER = ("developer", "docs", "reviewer")
TASKS = 60


def seed(board_path: str | Path, run_id: str) -> None:
    board = create_board(run_id=run_id, team="t", roster=ROSTER, path=board_path)
    for n in range(TASKS):
        board.queue_work("docs", f"task {n}", by=SYSTEM_MEMBER)
    board.close()


def claim_all(board_path: str, run_id: str, worker: str,
              out: list[str] | None = None) -> list[str]:
    board = open_board(board_path, run_id)
    claimed: list[str] = []
    n = 0
    while True:
        n += 1
        result = board.pull_work("docs", token=worker, key=f"{worker}:{n}")
        if result["task"] is None:
            break
        claimed.append(result["task"])
    board.close()
    if out is not None:
        out.extend(claimed)
    return claimed


def claim_in_threads(board_path: str, run_id: str, workers: int = 4) -> list[str]:
    """Every task claimed by `workers` threads (each with its own connection), racing."""
    results: list[list[str]] = [[] for _ in range(workers)]
    threads = [threading.Thread(target=claim_all,
                                args=(board_path, run_id, f"w{i}", results[i]))
               for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return [task for claimed in results for task in claimed]
