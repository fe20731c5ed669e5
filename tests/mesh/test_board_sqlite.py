"""The SQLite store: durable across reopen, and claims stay atomic under concurrent claimers
(threads with their own connections, and separate processes) on one file."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from teammesh.mesh.board import (
    UnknownRun,
    list_runs,
    open_board,
)

from .claimers import TASKS, claim_all, claim_in_threads, seed


def _seed(path: Path) -> None:
    seed(path, "r1")


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    _seed(path)
    board = open_board(path, "r1")
    board.pull_work("docs", token="t", key="k1")
    board.close()
    again = open_board(path, "r1")
    assert again.pull_work("docs", token="t", key="k1") == {"task": "task 0",
                                                           "queueDepth": TASKS - 1}
    assert again.queue_depth("docs") == TASKS - 1
    assert [r.run_id for r in list_runs(path)] == ["r1"]
    again.close()


def test_unknown_run_or_file(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with pytest.raises(UnknownRun):
        open_board(path, "r1")
    _seed(path)
    with pytest.raises(UnknownRun, match="run r2 is not on the board"):
        open_board(path, "r2")


def test_concurrent_thread_claimers_never_double_claim(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    _seed(path)
    everything = claim_in_threads(str(path), "r1")
    assert sorted(everything) == sorted(f"task {n}" for n in range(TASKS))
    assert len(set(everything)) == TASKS


def test_concurrent_process_claimers_never_double_claim(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    _seed(path)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(claim_all, [(str(path), "r1", f"p{i}") for i in range(3)],
                               chunksize=1)
    everything = [task for claimed in results for task in claimed]
    assert sorted(everything) == sorted(f"task {n}" for n in range(TASKS))
    board = open_board(path, "r1")
    tokens = {t.claim_token for t in board.tasks()}
    assert all(t.status == "claimed" for t in board.tasks())
    assert tokens <= {"p0", "p1", "p2"}
    board.close()
