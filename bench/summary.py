"""The targets of a results file as a markdown table (for docs/bench.md):

    python -m bench.summary [bench/results/latest.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.report import fmt

DEFAULT = Path(__file__).resolve().parent / "results" / "latest.json"


def summary(path: Path) -> str:
    document = json.loads(path.read_text())
    lines = ["| benchmark | figure | value | target | verdict | runs |",
             "|---|---|---|---|---|---|"]
    for section in document["sections"]:
        for figure in section["figures"]:
            if figure["met"] is None:
                continue
            verdict = "met" if figure["met"] else "**missed**"
            lines.append(f"| {section['title']} | {figure['name']} |"
                         f" {fmt(figure['value'])} {figure['unit']} | {figure['target']} |"
                         f" {verdict} | {figure['runs']} |")
    return "\n".join(lines)


def scale_growth(path: Path) -> str:
    """How the scale points grow: one row per (members, tasks)."""
    document = json.loads(path.read_text())
    lines = ["| members | tasks | tool calls/s (turns) | tool calls/s (whole run) | makespan"
             " | ms/task | gateway peak | runner peak | runs |",
             "|---|---|---|---|---|---|---|---|---|"]
    for section in document["sections"]:
        for point in section["detail"].get("points", []) if section["key"] == "scale" else []:
            lines.append(
                f"| {point['members']} | {point['tasks']:,} |"
                f" {fmt(point.get('calls_per_s_turns', float('nan')))} |"
                f" {fmt(point['calls_per_s'])} |"
                f" {fmt(point['makespan_s'])} s | {fmt(point['ms_per_task'])} |"
                f" {fmt(point['gateway_peak_mib'])} MiB | {fmt(point['runner_peak_mib'])} MiB |"
                f" {point['runs']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    print(summary(source))
    print()
    print(scale_growth(source))
