"""5. Concurrency with think time: every model call of the playbook runtime sleeps 200 ms
(`playbook?think_ms=200`), so a turn costs (its model calls) × 200 ms. The makespan at
concurrency 1, 4 and unbounded is compared with the critical-path lower bound of the team's
handoff graph: the longest chain of turns linked by handoffs (read from the done tasks'
chains on the board), each weighted by its model calls (its tool calls, as recorded on the
board, plus the final reply), times the think time."""

from __future__ import annotations

from pathlib import Path

from bench.environment import ROOT
from bench.processes import GatewayProcess
from bench.report import Config, Section
from bench.stats import median, ratio
from bench.team_runs import TimedRun, run_team
from teammesh.mesh.runner import RunOptions
from teammesh.mesh.team import Team
from teammesh.mesh.teamfile import builtin_team, load_team

SIX = ROOT / "teams" / "six.toml"
TARGET_RATIO = 1.15


def model_calls_per_turn(run: TimedRun) -> dict[str, float]:
    turns: dict[str, int] = {}
    for record in run.outcome.turn_log:
        turns[record.member] = turns.get(record.member, 0) + 1
    return {m: run.calls_by_member.get(m, 0) / n + 1 for m, n in turns.items()}


def longest_chain(run: TimedRun) -> tuple[float, list[str]]:
    """The heaviest chain of handoffs the run actually worked: every task done on the board
    carries its chain of owners from the root task; a chain's weight is the sum of its
    members' model calls per turn. No schedule can beat it: each turn in it waits for the
    turn that queued its task."""
    weight = model_calls_per_turn(run)
    chains = [list(t.chain) for t in run.tasks if t.status == "done"]
    return max((sum(weight.get(m, 1.0) for m in c), c) for c in chains)


def _teams() -> list[tuple[str, Team]]:
    teams = [("seed team", builtin_team())]
    if Path(SIX).exists():
        teams.append(("six-member team (fan-out/fan-in)", load_team(SIX)))
    return teams


async def run(cfg: Config) -> Section:
    think_ms = cfg.pick(200, 20)
    repeats = cfg.pick(3, 1)
    section = Section("concurrency", f"5. concurrency, think {think_ms} ms")
    detail: dict[str, dict[str, list[float]]] = {}
    with GatewayProcess(runtime=f"playbook?think_ms={think_ms}") as gateway:
        for label, team in _teams():
            levels = {"1": 1, "4": 4, "unbounded": len(team.members)}
            walls: dict[str, list[float]] = {k: [] for k in levels}
            bounds: list[float] = []
            chain: list[str] = []
            for _ in range(repeats):
                for key, level in levels.items():
                    timed = await run_team(gateway.base_url, team,
                                           RunOptions(concurrency=level, turn_timeout=60))
                    walls[key].append(timed.wall)
                    weight, chain = longest_chain(timed)
                    bounds.append(weight * think_ms / 1000)
            bound = median(bounds)
            section.add(f"{label}: critical path", bound * 1e3, "ms", runs=len(bounds))
            for key in levels:
                wall = median(walls[key])
                section.add(f"{label}: concurrency {key}", wall * 1e3, "ms",
                            runs=len(walls[key]))
            for key in levels:
                if key == "1":
                    # Sequential turns cannot reach a parallel graph's critical path: shown,
                    # not held to the target.
                    section.add(f"{label}: c={key} / critical path",
                                ratio(median(walls[key]), bound), "×", runs=len(walls[key]))
                    continue
                value = ratio(median(walls[key]), bound)
                section.add(f"{label}: c={key} / critical path", value, "×",
                            runs=len(walls[key]), target=f"≤ {TARGET_RATIO:g}×",
                            met=value <= TARGET_RATIO)
            section.notes.append(f"{label}: critical chain {' → '.join(chain)}.")
            detail[label] = {**walls, "bounds": bounds}
    section.notes.append("Makespan = runner.run() wall time (sessions included) against a"
                         " gateway process running `playbook?think_ms=…`.")
    section.detail = detail
    return section
