"""Concurrent members (B1) and a six-member team whose handoff graph is not a chain, through
the real gateway with the playbook runtime's think time."""

from __future__ import annotations

from pathlib import Path

import pytest

from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, RunOutcome, TeamRunner, TurnRecord
from teammesh.mesh.team import Team
from teammesh.mesh.teamfile import builtin_team, load_team

SIX = Path(__file__).resolve().parents[2] / "teams" / "six.toml"


async def _run(tmp_path: Path, team: Team, concurrency: int, think_ms: int
               ) -> tuple[RunOutcome, list[str]]:
    board = create_board(run_id="r", team=team.name, roster=team.roster,
                         path=tmp_path / f"board-{concurrency}.sqlite")
    printer = Printer(out=_Sink(), notes=_Sink())
    settings = RuntimeSettings(data_dir=tmp_path / "gw", think_ms=think_ms)
    async with start_gateway(data_dir=tmp_path / "gw", settings=settings) as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        outcome = await TeamRunner(cm, team, board, RunOptions(
            turn_timeout=60, concurrency=concurrency), printer).run()
    board.close()
    return outcome, printer.lines


def _overlaps(log: list[TurnRecord]) -> list[tuple[str, str]]:
    return [(a.member, b.member) for i, a in enumerate(log) for b in log[i + 1:]
            if a.started < b.ended and b.started < a.ended]


@pytest.mark.anyio
async def test_concurrency_overlaps_turns_and_keeps_lines_whole(tmp_path: Path) -> None:
    team = load_team(SIX)
    outcome, lines = await _run(tmp_path, team, concurrency=4, think_ms=40)
    assert outcome.complete, (outcome.missing, lines)
    assert _overlaps(outcome.turn_log), outcome.turn_log
    # Each member runs one turn at a time: a member never overlaps itself.
    assert all(a != b for a, b in _overlaps(outcome.turn_log))
    # Lines stay whole and attributable.
    for line in lines[:-2]:
        assert line.startswith(("[tool-call] ", "[round ")), line
        assert line.split(" ", 2)[1].rstrip(":") in team.roster or line.startswith("[round")


@pytest.mark.anyio
async def test_concurrency_one_is_sequential(tmp_path: Path) -> None:
    outcome, _ = await _run(tmp_path, builtin_team(), concurrency=1, think_ms=20)
    assert outcome.complete
    assert _overlaps(outcome.turn_log) == []


@pytest.mark.anyio
async def test_six_member_graph_completes(tmp_path: Path) -> None:
    team = load_team(SIX)
    outcome, lines = await _run(tmp_path, team, concurrency=1, think_ms=0)
    assert outcome.complete, (outcome.missing, lines)
    authors = {a["member"] for a in outcome.snapshot["recentArtifacts"]}
    assert authors == set(team.roster)
    # The fan-out and fan-in: backend and frontend both handed off to tester and writer.
    handoffs = [line for line in lines if line.endswith("team_queue_work")]
    assert handoffs.count("[tool-call] architect: team_queue_work") == 2
    assert handoffs.count("[tool-call] backend: team_queue_work") == 2
    assert handoffs.count("[tool-call] frontend: team_queue_work") == 2


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass
