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


if __name__ == "__main__":
    print(summary(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
