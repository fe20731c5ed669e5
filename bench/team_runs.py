"""Running a team with the real runner against a gateway, quietly, on a fresh board: SQLite
(the default), in memory, or a run in a PostgreSQL database (`board_at` = its DSN)."""

from __future__ import annotations

import bisect
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

from teammesh.client import AsyncCodexManager
from teammesh.mesh.board import SYSTEM_MEMBER, TaskRecord, create_board, new_run_id
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, RunOutcome, TeamRunner
from teammesh.mesh.team import Team


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@dataclass
class TimedRun:
    wall: float  # seconds: runner.run() from call to return
    outcome: RunOutcome
    calls_by_member: dict[str, int]  # tool calls recorded on the board, per member
    tasks: list[TaskRecord]  # the board's tasks at the end

    @property
    def turn_span(self) -> float:
        """First turn started → last turn ended (session set-up excluded)."""
        log = self.outcome.turn_log
        return max(t.ended for t in log) - min(t.started for t in log)


async def run_team(base_url: str, team: Team, options: RunOptions, board_at: str = "sqlite"
                   ) -> TimedRun:
    with tempfile.TemporaryDirectory(prefix="teammesh-bench-board-") as tmp:
        path: str | Path | None = {"sqlite": Path(tmp) / "board.sqlite",
                                   "memory": None}.get(board_at, board_at)
        board = create_board(run_id=new_run_id(), team=team.name, roster=team.roster,
                             path=path, max_attempts=team.policies.max_attempts)
        try:
            async with AsyncCodexManager(base_url=base_url) as cm:
                quiet = cast(TextIO, _Discard())
                runner = TeamRunner(cm, team, board, options, Printer(out=quiet, notes=quiet))
                started = time.perf_counter()
                outcome = await runner.run()
                wall = time.perf_counter() - started
            calls = Counter(r.member for r in board.records() if r.member != SYSTEM_MEMBER)
            tasks = board.tasks()
        finally:
            board.close()
    if not outcome.complete:
        raise RuntimeError(f"team {team.name} did not complete: {outcome.reason};"
                           f" missing {outcome.missing}")
    return TimedRun(wall, outcome, dict(calls), tasks)


def sync_gaps(probe: dict[str, Any]) -> list[float]:
    """Each turn's start (at the runtime) minus the latest turn completion before it: how
    long the runner took to proceed after a turn ended. The first turn has no gap."""
    ends = sorted(float(end[2]) for end in probe["turn_ends"])
    starts = sorted(float(start[1]) for start in probe["turn_starts"])
    gaps = []
    for started in starts:
        before = bisect.bisect_left(ends, started)
        if before:
            gaps.append(started - ends[before - 1])
    return gaps
