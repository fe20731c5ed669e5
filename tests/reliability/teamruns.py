"""Team runs as a user starts them (`teammesh run` subprocesses), and what their boards say.

`BoardFacts` reduces a run's board to what must not change under faults: its status, the
tasks (without ids and attempt counts, which legitimately differ after a requeue) and the
artifact log. Comparing two runs' facts is how "identical to an uninterrupted run" is judged.
"""

from __future__ import annotations

import collections
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from teammesh.mesh.board import list_runs, open_board

from .procs import readline, run_command, start_runner

RUN_TIMEOUT = 90.0


@dataclass(frozen=True)
class BoardFacts:
    run_id: str
    status: str
    tasks: tuple[tuple[str, str, str, str], ...]  # (owner, queued_by, status, text)
    artifacts: tuple[tuple[str, str, str], ...]  # (member, kind, summary), in log order
    completed: tuple[str, ...]
    records: int  # exactly-once tool-call records
    record_keys: tuple[str, ...] = ()

    @property
    def lost_tasks(self) -> int:
        """Tasks a finished run left behind: queued, claimed or dead-lettered."""
        return sum(1 for t in self.tasks if t[2] not in ("done", "cleared"))

    def extras_against(self, reference: BoardFacts) -> list[tuple[str, ...]]:
        """Mutations applied more often than in the reference run: extra artifacts and extra
        queued tasks (per identical record; tasks compared without their status)."""
        extra: list[tuple[str, ...]] = []
        for mine, theirs in ((self.artifacts, reference.artifacts),
                             (tuple(t[:2] + t[3:] for t in self.tasks),
                              tuple(t[:2] + t[3:] for t in reference.tasks))):
            want = collections.Counter(theirs)
            for key, n in collections.Counter(mine).items():
                extra.extend([key] * max(0, n - want[key]))
        return extra

    def duplicates_against(self, reference: BoardFacts) -> int:
        return len(self.extras_against(reference))


def board_facts(board_file: Path, run_id: str | None = None) -> BoardFacts:
    if run_id is None:
        (info,) = list_runs(board_file)
        run_id = info.run_id
    board = open_board(board_file, run_id)
    try:
        info = board.info()
        tasks = tuple((t.owner, t.queued_by, t.status, t.text) for t in board.tasks())
        artifacts = tuple((a.member, a.kind, a.summary) for a in board.artifacts())
        completed = tuple(sorted(board.completed()))
        keys = tuple(r.key for r in board.records())
    finally:
        board.close()
    return BoardFacts(run_id, info.status, tasks, artifacts, completed, len(keys), keys)


def run_args(board_file: Path, api_base: str, *extra: str) -> list[str]:
    return ["run", "--board", str(board_file), "--api-base", api_base, "--live", "off",
            "--turn-timeout", "30", *extra]


def full_run(workdir: Path, api_base: str, *extra: str) -> tuple[BoardFacts, float]:
    """One uninterrupted run; its facts and its wall time from announcement to exit."""
    board_file = workdir / "board.sqlite"
    runner = start_runner(run_args(board_file, api_base, *extra), cwd=workdir)
    assert runner.stderr is not None
    announced = readline(runner.stderr, RUN_TIMEOUT)
    assert announced.startswith("run "), announced
    started = time.monotonic()
    runner.wait(timeout=RUN_TIMEOUT)
    elapsed = time.monotonic() - started
    assert runner.returncode == 0, (runner.stdout.read() if runner.stdout else "")
    return board_facts(board_file), elapsed


@dataclass(frozen=True)
class KilledRun:
    delay: float
    killed_mid_run: bool  # False: the run had already finished when the kill came
    before: BoardFacts  # the board as the killed runner left it
    facts: BoardFacts
    resume_exit: int
    resume_output: str


def kill_then_resume(workdir: Path, api_base: str, delay: float, *extra: str) -> KilledRun:
    """Start a run, SIGKILL it `delay` seconds after it announced its run id, then
    `teammesh run --resume RUN_ID` on the same board."""
    board_file = workdir / "board.sqlite"
    runner = start_runner(run_args(board_file, api_base, *extra), cwd=workdir)
    assert runner.stderr is not None
    announced = readline(runner.stderr, RUN_TIMEOUT)
    assert announced.startswith("run "), announced
    time.sleep(delay)
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    killed = runner.returncode == -signal.SIGKILL
    (info,) = list_runs(board_file)
    before = board_facts(board_file, info.run_id)
    resumed = run_command(run_args(board_file, api_base, "--resume", info.run_id, *extra),
                          cwd=workdir, timeout=RUN_TIMEOUT)
    after = board_facts(board_file, info.run_id)
    return KilledRun(delay, killed, before, after, resumed.returncode,
                     resumed.stdout + resumed.stderr)
