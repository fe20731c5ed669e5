"""4b. Scale on every board store: 32 members with a growing number of tasks (64, 192, 640)
on the memory, SQLite and PostgreSQL boards, each point a fresh gateway and a fresh runner
process (`scale_point`, which the SQLite grid of `bench.scale` uses too).

Linearity: calls/s at the largest point ÷ calls/s at the smallest, same store, same run: ≈ 1
when a tool call costs the same however many tasks the board holds; a store whose
transactions cost O(board) falls towards 0 as the tasks grow (the memory board's whole-board
copy per transaction did: issue 15). PostgreSQL keeps every point's run in one database, so
its later points also show that a run's queries stay on its own rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import ExitStack
from typing import Any

import psutil

from bench.environment import ROOT
from bench.postgres_server import postgres_dsn
from bench.processes import GatewayProcess
from bench.report import Config, Section
from bench.stats import median

WORKER_TIMEOUT = 900.0
# The linearity floor: a point may lose a third of the smallest point's rate (noise, the
# gateway's own per-session growth) and still count as linear.
LINEAR_FLOOR = 0.67


def scale_point(members: int, tasks: int, board_at: str = "sqlite", *, record: bool = True,
                turns: str = "stream", pg_path: str = "current") -> dict[str, Any]:
    """One run of the scale team against a fresh gateway, its runner in a fresh process
    (`record=False`: without the run record's writes, the floor of `bench.scale_record`;
    `turns="http"`: turns started by the POST, the A/B of `bench.scale_turns`), with both
    processes' CPU seconds over the run (`cpu_s`: the runner's, `gateway_cpu_s`)."""
    with GatewayProcess() as gateway:
        gateway_start = gateway.rss()
        gateway_cpu = psutil.Process(gateway.pid)
        cpu_before = sum(gateway_cpu.cpu_times()[:2])
        done = subprocess.run(
            [sys.executable, "-m", "bench.scale_worker", "--base-url", gateway.base_url,
             "--members", str(members), "--tasks", str(tasks), "--board", board_at,
             "--record", "on" if record else "off", "--turns", turns,
             "--pg-path", pg_path],
            cwd=ROOT, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
        gateway_used = sum(gateway_cpu.cpu_times()[:2]) - cpu_before
        if done.returncode != 0:
            raise RuntimeError(f"scale worker {members}x{tasks} on {board_at.split(':')[0]}"
                               f" failed: {done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["gateway_start"] = gateway_start
        result["gateway_cpu_s"] = gateway_used
        result["gateway_peak"] = gateway.peak_rss()
    return result


def _grid(cfg: Config) -> tuple[int, list[tuple[int, int]]]:
    """(members, [(tasks, repeats)]): the small points run more often (they are short and
    noisier), the largest once (time budget)."""
    if cfg.smoke:
        return 4, [(8, 1), (24, 1)]
    return 32, [(64, 3), (192, 2), (640, 1)]


def add_store_points(cfg: Config, section: Section) -> list[dict[str, Any]]:
    members, grid = _grid(cfg)
    points: list[dict[str, Any]] = []
    with ExitStack() as stack:
        dsn = stack.enter_context(postgres_dsn())
        stores = [("memory", "memory"), ("SQLite", "sqlite")]
        if dsn is not None:
            stores.append(("PostgreSQL", dsn))
        else:
            section.notes.append("PostgreSQL board points left out: no server could be"
                                 " started on this machine.")
        for name, board_at in stores:
            mine: list[dict[str, Any]] = []
            for tasks, repeats in grid:
                runs = [scale_point(members, tasks, board_at) for _ in range(repeats)]
                rate = median([r["tool_calls"] / r["wall_s"] for r in runs])
                in_turns = median([r["tool_calls"] / r["turn_span_s"] for r in runs])
                point: dict[str, Any] = {
                    "store": name, "members": members, "tasks": tasks, "runs": len(runs),
                    "calls_per_s": rate, "calls_per_s_turns": in_turns,
                    "makespan_s": median([r["wall_s"] for r in runs]), "raw": runs}
                mine.append(point)
                label = f"{name} board, {members} members × {tasks} tasks"
                section.add(f"{label}: tool calls/s (first turn start → last turn end)",
                            in_turns, "calls/s", runs=len(runs))
                section.add(f"{label}: tool calls/s, whole run", rate, "calls/s",
                            runs=len(runs))
            # Over the turns' span: the whole run's rate rises with tasks only because its
            # fixed set-up spreads thinner, which would hide a rate that falls with the board.
            ratio = mine[-1]["calls_per_s_turns"] / mine[0]["calls_per_s_turns"]
            section.add(f"{name} board: calls/s (turns' span) at {mine[-1]['tasks']} ÷ at"
                        f" {mine[0]['tasks']} tasks", ratio, "×", runs=mine[-1]["runs"],
                        target=f"≈ 1 (linear), ≥ {LINEAR_FLOOR:g}×",
                        met=ratio >= LINEAR_FLOOR)
            points += mine
        if dsn is not None:
            from bench.scale_pg_ab import add_pg_ab_points  # imports scale_point from here

            points.append({"store": "PostgreSQL A/B",
                           "raw": add_pg_ab_points(cfg, section, dsn, members)})
    section.notes.append(f"Every store: {members} members, tasks "
                         + ", ".join(str(t) for t, _ in grid)
                         + "; runs per point " + ", ".join(str(r) for _, r in grid)
                         + "; PostgreSQL: one throwaway local server (fsync off), every"
                         " point's run in the same database.")
    return points
