"""Profile the worst ratio of the table — the scale benchmark's tool calls/s at 32 members —
on both sides of the wire, with pyinstrument:

    python -m bench.profile [--members 32] [--tasks 1000] [--out bench/results]

writes `profile-runner.txt` (the runner process: client, dispatcher, board) and
`profile-gateway.txt` (the gateway process), plus each process's CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

import psutil
from pyinstrument import Profiler

from bench.processes import GatewayProcess
from bench.scale_team import scale_team
from bench.team_runs import run_team
from teammesh.mesh.runner import RunOptions

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


async def profile(members: int, tasks: int, out: Path) -> str:
    with GatewayProcess(profile_to=out / "profile-gateway.txt") as gateway:
        gateway_cpu = psutil.Process(gateway.pid)
        # pyinstrument's own process is the gateway: python -m pyinstrument -m module.
        before_gateway = sum(gateway_cpu.cpu_times()[:2])
        before_runner = sum(os.times()[:2])
        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
        started = time.perf_counter()
        timed = await run_team(gateway.base_url, scale_team(members, tasks),
                               RunOptions(turn_timeout=120, concurrency=members))
        wall = time.perf_counter() - started
        profiler.stop()
        runner_cpu = sum(os.times()[:2]) - before_runner
        gateway_used = sum(gateway_cpu.cpu_times()[:2]) - before_gateway
    (out / "profile-runner.txt").write_text(profiler.output_text(unicode=True, color=False))
    return (f"{members} members × {tasks} tasks: {timed.outcome.tool_calls} tool calls in"
            f" {wall:.1f} s ({timed.outcome.tool_calls / wall:.0f} calls/s, under the"
            f" profiler); CPU: runner {runner_cpu:.1f} s, gateway {gateway_used:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary = asyncio.run(profile(args.members, args.tasks, args.out))
    (args.out / "profile-summary.txt").write_text(summary + "\n")
    print(summary)


if __name__ == "__main__":
    main()
