"""A process's CPU time (and run-queue wait) to the nanosecond, for `bench.codex_overhead`.

`psutil.cpu_times()` counts in clock ticks (10 ms here): one codex turn costs the gateway a
few milliseconds, so per turn it reads 0 or 10 and only a long run's mean means anything.
Linux keeps each thread's run time in nanoseconds in `/proc/<pid>/task/<tid>/schedstat`
(first field); their sum is the process's CPU time. Elsewhere psutil's ticks are the
fallback. The second field is the time the thread was runnable but waiting for a CPU: on a
shared 2-core machine it shows how much of a turn's wall time is a process queueing for a
core rather than working (0 where schedstat is missing).
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil


def cpu_seconds(pid: int) -> float:
    """User + system CPU of every thread of `pid` so far (children excluded)."""
    return sched_seconds(pid)[0]


def sched_seconds(pid: int) -> tuple[float, float]:
    """(CPU, run-queue wait) of every thread of `pid` so far, in seconds."""
    tasks = Path(f"/proc/{pid}/task")
    if tasks.is_dir():
        run = wait = 0
        for task in os.scandir(tasks):
            try:
                fields = (Path(task.path) / "schedstat").read_text().split()
                run, wait = run + int(fields[0]), wait + int(fields[1])
            except (OSError, ValueError, IndexError):
                continue  # a thread that ended meanwhile
        return run / 1e9, wait / 1e9
    return float(sum(psutil.Process(pid).cpu_times()[:2])), 0.0
