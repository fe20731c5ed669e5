"""4c. The PostgreSQL board now and as it was, A/B interleaved in one run and one server:
32 members × 640 tasks, `--pg-path classic` (the generic statements, BEGIN/COMMIT around
reads too: `bench/pg_paths.py`) against today's (a turn's board work as server functions,
`mesh/board/pg_functions.py`), with each process's CPU per tool call — the runner's, the
gateway's and the PostgreSQL server's (its backends included) — since on a shared 2-core
machine CPU, not waiting, is what a call pays.
"""

from __future__ import annotations

from typing import Any

from bench.postgres_server import server_cpu_s
from bench.report import Config, Section
from bench.scale_stores import scale_point
from bench.stats import median

TARGET_CALLS_PER_S = 1000.0
# Statements a scale turn sends (claim + publish, opened, turn id, settled, the round's
# queue check), counted with a wrapped `execute` plus BEGIN/COMMIT: see docs/distributed.md.
STATEMENTS_PER_TURN = {"before": 46, "now": 6}


def add_pg_ab_points(cfg: Config, section: Section, dsn: str, members: int
                     ) -> dict[str, list[dict[str, Any]]]:
    tasks = cfg.pick(640, 24)
    pairs = cfg.pick(2, 1)
    arms: dict[str, list[dict[str, Any]]] = {"before": [], "now": []}
    for _ in range(pairs):
        for arm, path in (("before", "classic"), ("now", "current")):
            server_before = server_cpu_s(dsn)
            result = scale_point(members, tasks, dsn, pg_path=path)
            result["postgres_cpu_s"] = server_cpu_s(dsn) - server_before
            arms[arm].append(result)
    rates = {arm: median([r["tool_calls"] / r["wall_s"] for r in runs])
             for arm, runs in arms.items()}
    # Judged as the scale grid is: over the turns' span (bench/scale.py says why).
    in_turns = {arm: median([r["tool_calls"] / r["turn_span_s"] for r in runs])
                for arm, runs in arms.items()}
    label = f"PostgreSQL board A/B, {members} members × {tasks} tasks"
    section.add(f"{label}: tool calls/s as before (first turn start → last turn end)",
                in_turns["before"], "calls/s", runs=pairs)
    # The target is issue 15's, at 32 members (not the smoke run's 4).
    section.add(f"{label}: tool calls/s now (first turn start → last turn end)",
                in_turns["now"], "calls/s", runs=pairs,
                target="" if cfg.smoke else f"≥ {TARGET_CALLS_PER_S:,.0f}",
                met=None if cfg.smoke else in_turns["now"] >= TARGET_CALLS_PER_S)
    section.add(f"{label}: tool calls/s as before, whole run", rates["before"], "calls/s",
                runs=pairs)
    section.add(f"{label}: tool calls/s now, whole run", rates["now"], "calls/s", runs=pairs)
    section.add(f"{label}: now ÷ before (whole run)", rates["now"] / rates["before"], "×",
                runs=pairs)
    for arm, runs in arms.items():
        parts = {
            "runner": median([r["cpu_s"] / r["tool_calls"] for r in runs]),
            "gateway": median([r["gateway_cpu_s"] / r["tool_calls"] for r in runs]),
            "PostgreSQL server": median([r["postgres_cpu_s"] / r["tool_calls"]
                                         for r in runs]),
        }
        for part, seconds in parts.items():
            section.add(f"{label}, {arm}: {part} CPU per tool call", seconds * 1e3, "ms",
                        runs=pairs)
        section.add(f"{label}, {arm}: all three, CPU per tool call",
                    sum(parts.values()) * 1e3, "ms", runs=pairs)
    section.notes.append(
        f"PostgreSQL A/B: {pairs} interleaved pair(s) of fresh gateway + runner processes on"
        " the same server; 'before' is today's build with the board's earlier path"
        " (`--pg-path classic`: generic statements, BEGIN/COMMIT around reads too,"
        f" {STATEMENTS_PER_TURN['before']} statements per turn), 'now' is a turn's board"
        f" work as server functions ({STATEMENTS_PER_TURN['now']} statements per turn)."
        " CPU = user + system seconds over the run (session set-up included) ÷ tool calls;"
        " the server's includes its backends. Both arms run on today's schema, so the"
        " wake-up NOTIFY that migration 9 keeps to runs with workers is out of both.")
    return arms
