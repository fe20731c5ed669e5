"""The PostgreSQL store: claims stay atomic under concurrent claimers on one database
(threads with their own connections, and processes), runs are found again, and a whole team
runs — killed and resumed — on a board in PostgreSQL."""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from teammesh.mesh.board import (
    UnknownRun,
    open_board,
    runs_on,
)
from teammesh.mesh.board.lock import RunBusy
from teammesh.mesh.board.postgres import PgRunLock, redact

from .claimers import TASKS, claim_all, claim_in_threads, seed

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))


def _seed(dsn: str) -> str:
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    seed(dsn, run_id)
    return run_id


def test_concurrent_thread_claimers(postgres_dsn: str) -> None:
    run_id = _seed(postgres_dsn)
    everything = claim_in_threads(postgres_dsn, run_id)
    assert sorted(everything) == sorted(f"task {n}" for n in range(TASKS))


def test_concurrent_process_claimers(postgres_dsn: str) -> None:
    run_id = _seed(postgres_dsn)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(claim_all, [(postgres_dsn, run_id, f"p{i}") for i in range(3)])
    everything = [task for claimed in results for task in claimed]
    assert sorted(everything) == sorted(f"task {n}" for n in range(TASKS))


def test_runs_are_found_again_and_unknown_runs_refused(postgres_dsn: str) -> None:
    run_id = _seed(postgres_dsn)
    assert run_id in {r.run_id for r in runs_on(postgres_dsn)}
    board = open_board(postgres_dsn, run_id)
    assert board.queue_depth("docs") == TASKS
    board.close()
    with pytest.raises(UnknownRun, match="run nope is not on the board postgresql://"):
        open_board(postgres_dsn, "nope")


def test_one_runner_per_run_across_connections(postgres_dsn: str) -> None:
    first = PgRunLock(postgres_dsn, "r-lock").acquire()
    with pytest.raises(RunBusy):
        PgRunLock(postgres_dsn, "r-lock").acquire()
    first.release()
    PgRunLock(postgres_dsn, "r-lock").acquire().release()


def test_a_held_run_is_seen_as_held_without_taking_it(postgres_dsn: str) -> None:
    """What `teammesh runs` asks to tell `running` from `interrupted` on PostgreSQL."""
    probe = PgRunLock(postgres_dsn, "r-held")
    assert probe.held_elsewhere() is False
    holder = PgRunLock(postgres_dsn, "r-held").acquire()
    try:
        assert probe.held_elsewhere() is True
        assert holder.held_elsewhere() is False  # its own lock is not held elsewhere
    finally:
        holder.release()
    assert probe.held_elsewhere() is False
    PgRunLock(postgres_dsn, "r-held").acquire().release()  # the probe left nothing held


def test_redact() -> None:
    assert redact("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


@pytest.mark.timeout(300)
def test_team_run_killed_and_resumed_on_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    gateway = subprocess.Popen(
        [TEAMMESH, "serve", "--port", "0", "--data-dir", str(tmp_path / "gw"),
         "--think-ms", "60", "--no-token"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert gateway.stdout is not None
        base = gateway.stdout.readline().rsplit(" ", 1)[1].strip()
        common = ["--board", postgres_dsn, "--api-base", base]
        before = {r.run_id for r in runs_on(postgres_dsn)}
        runner = subprocess.Popen([TEAMMESH, "run", *common], cwd=tmp_path, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True)
        assert runner.stdout is not None
        for _ in range(8):
            assert runner.stdout.readline()
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
        (run_id,) = {r.run_id for r in runs_on(postgres_dsn)} - before
        resumed = subprocess.run([TEAMMESH, "run", "--resume", run_id, *common],
                                 cwd=tmp_path, env=env, capture_output=True, text=True,
                                 timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        shown = subprocess.run([TEAMMESH, "board", "show", run_id, "--board", postgres_dsn],
                               capture_output=True, text=True, timeout=60)
        assert f"run {run_id} · team default · complete" in shown.stdout
    finally:
        gateway.terminate()
        gateway.wait(timeout=20)
    board = open_board(postgres_dsn, run_id)
    try:
        assert {t.status for t in board.tasks()} <= {"done", "cleared"}
        kinds = collections.Counter((a.member, a.kind) for a in board.artifacts())
    finally:
        board.close()
    assert set(kinds.values()) == {1} and len(kinds) == 6
