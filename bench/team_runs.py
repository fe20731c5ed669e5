"""Running a team with the real runner against a gateway, quietly, on a fresh SQLite board."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

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


async def run_team(base_url: str, team: Team, options: RunOptions) -> TimedRun:
    with tempfile.TemporaryDirectory(prefix="teammesh-bench-board-") as tmp:
        board = create_board(run_id=new_run_id(), team=team.name, roster=team.roster,
                             path=Path(tmp) / "board.sqlite",
                             max_attempts=team.policies.max_attempts)
        try:
            async with AsyncCodexManager(base_url=base_url) as cm:
                runner = TeamRunner(cm, team, board, options,
                                    Printer(out=_Discard(), notes=_Discard()))  # type: ignore[arg-type]
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


def sync_gaps(probe: dict[str, list[list[object]]]) -> list[float]:
    """Each turn's start (at the runtime) minus the latest turn completion before it: how
    long the runner took to proceed after a turn ended. The first turn has no gap."""
    ends = sorted(float(e[2]) for e in probe["turn_ends"])  # type: ignore[arg-type]
    gaps = []
    for _thread, started in sorted(probe["turn_starts"], key=lambda s: float(s[1])):  # type: ignore[arg-type]
        before = [e for e in ends if e < float(started)]  # type: ignore[arg-type]
        if before:
            gaps.append(float(started) - before[-1])  # type: ignore[arg-type]
    return gaps
