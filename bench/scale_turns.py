"""4c. Where a turn's CPU goes, before and after turns started over the stream: the scale
team (32 members, each task one turn of claim + publish) with every turn started by the
HTTP POST (`--turns http`: the runner before the `turnStart` extension) and over the socket
the runner already holds (`--turns stream`, the default), A/B interleaved in one run (the
machine is shared: interleaving spreads its noise over both arms).

Figures: each arm's tool calls/s, and its runner's and gateway's CPU per turn and per tool
call, measured (process CPU seconds over the run ÷ turns or calls; session set-up is in
the run, the same in both arms). Standalone: `python -m bench.scale_turns [--tasks N]`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench.report import Config, Section
from bench.scale_stores import scale_point
from bench.stats import median

MEMBERS = 32
ARMS = (("http", "turns over HTTP (before)"), ("stream", "turns over the socket (after)"))


def _grid(cfg: Config) -> tuple[int, int, int]:
    """(members, tasks, runs per arm)."""
    return cfg.pick((MEMBERS, 400, 3), (4, 8, 1))


def measure(members: int, tasks: int, repeats: int) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm, _ in ARMS}
    for _ in range(repeats):
        for arm, _label in ARMS:
            runs[arm].append(scale_point(members, tasks, "sqlite", turns=arm))
    return runs


def figures(run: dict[str, Any]) -> dict[str, float]:
    turns, calls = run["turns"], run["tool_calls"]
    return {"calls_per_s": calls / run["wall_s"],
            "runner_ms_per_turn": run["cpu_s"] / turns * 1e3,
            "gateway_ms_per_turn": run["gateway_cpu_s"] / turns * 1e3,
            "runner_ms_per_call": run["cpu_s"] / calls * 1e3,
            "gateway_ms_per_call": run["gateway_cpu_s"] / calls * 1e3}


def add_turn_cpu_points(cfg: Config, section: Section) -> dict[str, Any]:
    members, tasks, repeats = _grid(cfg)
    runs = measure(members, tasks, repeats)
    detail: dict[str, Any] = {"members": members, "tasks": tasks, "runs": runs}
    for arm, label in ARMS:
        each = [figures(run) for run in runs[arm]]
        got = {key: median([f[key] for f in each]) for key in each[0]}
        detail[arm] = got
        prefix = f"{members} members × {tasks} tasks, {label}"
        section.add(f"{prefix}: tool calls/s", got["calls_per_s"], "calls/s", runs=repeats)
        for side in ("runner", "gateway"):
            section.add(f"{prefix}: {side} CPU per turn", got[f"{side}_ms_per_turn"], "ms",
                        runs=repeats)
            section.add(f"{prefix}: {side} CPU per call", got[f"{side}_ms_per_call"], "ms",
                        runs=repeats)
    section.add(f"{members} members × {tasks} tasks: calls/s, socket ÷ HTTP turn starts",
                detail["stream"]["calls_per_s"] / detail["http"]["calls_per_s"], "×",
                runs=repeats)
    section.notes.append(f"Turn-start A/B: {members} members × {tasks} tasks on SQLite,"
                         f" {repeats} runs per arm interleaved; CPU = each process's user +"
                         " system seconds over the run (session set-up included) ÷ turns or"
                         " tool calls.")
    return detail


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_turns")
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = measure(args.members, args.tasks, args.runs)
    for arm, label in ARMS:
        each = [figures(run) for run in runs[arm]]
        got = {key: round(median([f[key] for f in each]), 3) for key in each[0]}
        print(label, json.dumps(got), "raw calls/s:",
              [round(f["calls_per_s"]) for f in each])


if __name__ == "__main__":
    main()
