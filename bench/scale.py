"""4. Scale: 8, 32 and 128 members; 100, 1,000 and 5,000 tasks handed through the board
(`bench.scale_team`: each task is one turn of claim + publish). Every point runs against a
fresh gateway process (its peak memory is its own) with the runner in a fresh worker process
(`bench.scale_worker`, likewise), all members' turns at once (concurrency = members).

Tool calls/s, judged against the target: tool calls / the turns' span (the first turn's start
to the last turn's end), the window in which calls flow end to end (runtime emits the call →
handler → answer accepted). Also given, without a target: tool calls / runner.run() wall time,
which adds the run's set-up (opening every member's session) and end (copying each session's
transcript to the board): at 100 tasks those are a third of the wall time, and they are a
start-up cost, not a per-call one.
Memory per idle session: a fresh gateway's resident memory before and after opening K member
sessions with the five team skills, divided by K.
"""

from __future__ import annotations

from typing import Any

from bench.echo_session import echo_prompt, open_echo_session, run_turn, streaming, wait_covered
from bench.processes import GatewayProcess
from bench.report import Config, Section
from bench.scale_record import add_record_points
from bench.scale_stores import add_store_points, scale_point
from bench.scale_team import worker_names
from bench.scale_turns import add_turn_cpu_points
from bench.stats import median
from teammesh.client import AsyncCodexManager
from teammesh.mesh.sessions import SkillBinding, create_session
from teammesh.mesh.skills import DESCRIPTIONS, SKILL_NAMES, input_schemas
from teammesh.mesh.team import DEFAULT_SESSION

TARGET_CALLS_PER_S = 1000.0
TARGET_MEMBERS = 32
TARGET_SESSION_KIB = 256.0


def _grid(cfg: Config) -> list[tuple[int, int, int]]:
    """(members, tasks, repeats). Full size: every member count at 100 and 1,000 tasks and
    5,000 tasks at 32 members; the points above 100 tasks run once (time budget)."""
    if cfg.smoke:  # one point: the others run the same code
        return [(4, 8, 1)]
    grid = [(m, 100, 3) for m in (8, 32, 128)]
    grid += [(m, 1000, 1) for m in (8, 32, 128)]
    grid.append((32, 5000, 1))
    return grid


async def _idle_sessions(count: int) -> float:
    """Bytes of gateway memory per idle member session."""
    names = worker_names(2)
    schemas = input_schemas(names)

    def declare(draft: Any) -> None:
        for name in SKILL_NAMES:
            draft.register(name, lambda **_: {"ok": True}, description=DESCRIPTIONS[name],
                           input_schema=schemas[name])

    register = SkillBinding(declare)

    with GatewayProcess() as gateway:
        async with AsyncCodexManager(base_url=gateway.base_url) as cm:
            # The first session starts the runtime (imports, caches): not per-session cost.
            await create_session(cm, dict(DEFAULT_SESSION), "warm-up", register)
            before = gateway.rss()
            for index in range(count):
                await create_session(cm, dict(DEFAULT_SESSION), f"idle-{index}", register)
            after = gateway.rss()
    return (after - before) / count


async def _worked_sessions(count: int) -> float:
    """Bytes of gateway memory per session that has run one turn (two tool calls, a reply)
    and is now idle: its transcript, turn record and the runtime's conversation included."""
    with GatewayProcess() as gateway:
        async with AsyncCodexManager(base_url=gateway.base_url) as cm:
            warm = await open_echo_session(cm)
            handles = {warm.session_id: warm}
            async with streaming(cm, handles):
                await wait_covered(cm, warm.session_id)
                await run_turn(cm, warm, echo_prompt(2))
                gateway.dump()
                before = gateway.rss()
                for _ in range(count):
                    handle = await open_echo_session(cm)
                    handles[handle.session_id] = handle
                    await run_turn(cm, handle, echo_prompt(2))
                    gateway.dump()  # the probe's own samples are not the session's cost
                after = gateway.rss()
    return (after - before) / count


async def run(cfg: Config) -> Section:
    section = Section("scale", "4. scale")
    points: list[dict[str, Any]] = []
    for members, tasks, repeats in _grid(cfg):
        runs = [scale_point(members, tasks) for _ in range(repeats)]
        wall = median([r["wall_s"] for r in runs])
        calls = runs[0]["tool_calls"]
        point = {
            "members": members, "tasks": tasks, "runs": len(runs), "tool_calls": calls,
            "makespan_s": wall, "calls_per_s": median([r["tool_calls"] / r["wall_s"]
                                                      for r in runs]),
            "calls_per_s_turns": median([r["tool_calls"] / r["turn_span_s"] for r in runs]),
            "ms_per_task": wall / tasks * 1e3,
            "gateway_peak_mib": median([r["gateway_peak"] for r in runs]) / 2**20,
            "gateway_growth_mib": median([r["gateway_peak"] - r["gateway_start"]
                                          for r in runs]) / 2**20,
            "runner_peak_mib": median([r["rss_peak"] for r in runs]) / 2**20,
            "runner_growth_mib": median([r["rss_peak"] - r["rss_start"] for r in runs]) / 2**20,
            "raw": runs,
        }
        points.append(point)
        label = f"{members} members × {tasks} tasks"
        judged = members == TARGET_MEMBERS
        section.add(f"{label}: tool calls/s (first turn start → last turn end)",
                    point["calls_per_s_turns"], "calls/s", runs=len(runs),
                    target=f"≥ {TARGET_CALLS_PER_S:,.0f}" if judged else "",
                    met=point["calls_per_s_turns"] >= TARGET_CALLS_PER_S if judged else None)
        section.add(f"{label}: tool calls/s, whole run (sessions opened and transcripts"
                    " copied included)", point["calls_per_s"], "calls/s", runs=len(runs))
        section.add(f"{label}: makespan", wall * 1e3, "ms", runs=len(runs))
        section.add(f"{label}: gateway peak RSS", point["gateway_peak_mib"], "MiB",
                    runs=len(runs))
        section.add(f"{label}: runner peak RSS", point["runner_peak_mib"], "MiB",
                    runs=len(runs))
    # Linearity: cost per task at the largest vs the smallest task count, same members.
    for members in sorted({p["members"] for p in points}):
        mine = sorted((p for p in points if p["members"] == members), key=lambda p: p["tasks"])
        if len(mine) >= 2:
            growth = mine[-1]["ms_per_task"] / mine[0]["ms_per_task"]
            section.add(f"{members} members: ms/task at {mine[-1]['tasks']} ÷ at"
                        f" {mine[0]['tasks']} tasks", growth, "×", runs=mine[-1]["runs"],
                        target="≈ 1 (linear), ≤ 1.5×", met=growth <= 1.5)
    store_points = add_store_points(cfg, section)
    turn_cpu = add_turn_cpu_points(cfg, section)
    record_points = add_record_points(cfg, section)
    counts = cfg.pick((64, 256), (8,))
    per_session = []
    for count in counts:
        value = await _idle_sessions(count) / 1024
        per_session.append({"sessions": count, "kib_per_session": value})
    repeats = cfg.pick(3, 1)
    largest = [await _idle_sessions(counts[-1]) / 1024 for _ in range(repeats - 1)]
    largest.append(per_session[-1]["kib_per_session"])
    idle = median(largest)
    for entry in per_session[:-1]:
        section.add(f"memory per idle session ({entry['sessions']} sessions)",
                    entry["kib_per_session"], "KiB", runs=1)
    section.add(f"memory per idle session ({counts[-1]} sessions)", idle, "KiB",
                runs=len(largest), target=f"≤ {TARGET_SESSION_KIB:g} KiB",
                met=idle <= TARGET_SESSION_KIB)
    worked = [await _worked_sessions(counts[-1]) / 1024 for _ in range(repeats)]
    section.add(f"memory per idle session after one turn ({counts[-1]} sessions)",
                median(worked), "KiB", runs=len(worked),
                target=f"≤ {TARGET_SESSION_KIB:g} KiB", met=median(worked) <= TARGET_SESSION_KIB)
    section.notes.append("Each task = one turn (claim + publish = 2 tool calls); all members"
                         " run at once; fresh gateway and runner processes per point; peak ="
                         " the kernel's VmHWM. Scaled down for the time budget: 5,000 tasks"
                         " only at 32 members, and points above 100 tasks run once.")
    section.detail = {"points": points, "store_points": store_points, "turn_cpu": turn_cpu,
                      "record_points": record_points,
                      "idle_sessions": per_session,
                      "worked_sessions_kib": worked}
    return section
