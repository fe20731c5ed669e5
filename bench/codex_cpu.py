"""A process's CPU time to the nanosecond, for the per-turn CPU figures of `bench.codex_overhead`.

`psutil.cpu_times()` counts in clock ticks (10 ms here): one codex turn costs the gateway a
few milliseconds, so per turn it reads 0 or 10 and only a long run's mean means anything.
Linux keeps each thread's run time in nanoseconds in `/proc/<pid>/task/<tid>/schedstat`
(first field); their sum is the process's CPU time. Elsewhere psutil's ticks are the
fallback.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil


def cpu_seconds(pid: int) -> float:
    """User + system CPU of every thread of `pid` so far (children excluded)."""
    tasks = Path(f"/proc/{pid}/task")
    if tasks.is_dir():
        total = 0
        for task in os.scandir(tasks):
            try:
                total += int((Path(task.path) / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that ended meanwhile
        return total / 1e9
    return float(sum(psutil.Process(pid).cpu_times()[:2]))
