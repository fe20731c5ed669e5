"""4c. What the run record costs per tool call: the scale team on the SQLite board with the
record's writes on and off (off = the board as it was before it: no call entry written with
a call's mutation, no turn stamps), A/B interleaved in the same run, each run a fresh
gateway and a fresh runner process.

Two figures per side, each a median: tool calls/s (wall, noisy on a shared machine) and the
runner's CPU milliseconds per tool call (what the record adds to the runner's own work).
The ratio is on ÷ off, same run: 1 = free.

    python -m bench.scale_record [--smoke]   # this part alone
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench.report import Config, Section
from bench.scale_stores import scale_point
from bench.stats import median

# The record may cost at most this share of the runner's calls/s.
RECORD_FLOOR = 0.9


def _grid(cfg: Config) -> tuple[int, int, int]:
    """(members, tasks, pairs)."""
    if cfg.smoke:
        return 4, 16, 1
    return 32, 192, 5


def add_record_points(cfg: Config, section: Section) -> dict[str, Any]:
    members, tasks, pairs = _grid(cfg)
    runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for index in range(pairs):
        # Interleaved, the starting side alternating: drift on the machine hits both.
        for record in ((False, True) if index % 2 == 0 else (True, False)):
            runs[record].append(scale_point(members, tasks, "sqlite", record=record))
    figures: dict[str, Any] = {}
    for record, label in ((False, "off"), (True, "on")):
        mine = runs[record]
        figures[label] = {
            "calls_per_s": median([r["tool_calls"] / r["wall_s"] for r in mine]),
            "cpu_ms_per_call": median([r["cpu_s"] / r["tool_calls"] * 1e3 for r in mine]),
            "raw": mine}
        section.add(f"run record {label}, {members} members × {tasks} tasks (SQLite):"
                    " tool calls/s", figures[label]["calls_per_s"], "calls/s", runs=len(mine))
        section.add(f"run record {label}: runner CPU per tool call",
                    figures[label]["cpu_ms_per_call"], "ms", runs=len(mine))
    rate = figures["on"]["calls_per_s"] / figures["off"]["calls_per_s"]
    cpu = figures["on"]["cpu_ms_per_call"] / figures["off"]["cpu_ms_per_call"]
    section.add("run record: calls/s on ÷ off (same run)", rate, "×", runs=pairs,
                target=f"≥ {RECORD_FLOOR:g}×", met=rate >= RECORD_FLOOR)
    section.add("run record: runner CPU per call on ÷ off (same run)", cpu, "×", runs=pairs)
    section.notes.append(f"Run record A/B: {pairs} interleaved pair(s) of fresh gateway +"
                         " runner processes; off = no call entries, no turn stamps.")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_record")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    section = Section("scale", "4. scale")
    add_record_points(Config(smoke=args.smoke), section)
    for figure in section.figures:
        print(f"{figure.name}: {figure.value:.3f} {figure.unit}")
    print(json.dumps({f.name: f.value for f in section.figures}))


if __name__ == "__main__":
    main()
