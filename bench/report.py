"""Results: figures grouped by benchmark, printed as a table and written as markdown + JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Config:
    """How big a run is. `smoke`: tiny sizes, seconds long, for `tests/bench`."""

    smoke: bool = False
    repeats: int = 5

    def pick(self, full: Any, smoke: Any) -> Any:
        return smoke if self.smoke else full


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None  # None: no target
    runs: int = 1  # how many repeated runs the median is over


@dataclass
class Section:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, name: str, value: float, unit: str, *, runs: int, target: str = "",
            met: bool | None = None) -> Figure:
        figure = Figure(name, float(value), unit, target, met, runs)
        self.figures.append(figure)
        return figure


def fmt(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _verdict(figure: Figure) -> str:
    if figure.met is None:
        return ""
    return "met" if figure.met else "MISSED"


def rows(sections: list[Section]) -> list[tuple[str, str, str, str, str, str]]:
    table = []
    for section in sections:
        for figure in section.figures:
            table.append((section.title, figure.name, f"{fmt(figure.value)} {figure.unit}",
                          figure.target, _verdict(figure), str(figure.runs)))
    return table


HEADERS = ("benchmark", "figure", "value", "target", "", "runs")


def text_table(sections: list[Section]) -> str:
    table = [HEADERS, *rows(sections)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADERS))]
    lines = []
    for index, row in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(sections: list[Section], env: dict[str, Any], smoke: bool) -> str:
    machine, versions = env["machine"], env["versions"]
    out = [
        "# teammesh benchmarks" + (" (smoke sizes)" if smoke else ""),
        "",
        f"- date: {env['date']}",
        f"- machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB,"
        f" {machine['os']}; load average (1 min) {machine.get('load_average_1m', 'unknown')}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "- every figure is a median over the runs given; every ratio is measured in the same"
        " run as its floor",
        "",
        "| " + " | ".join(h or "verdict" for h in HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
    ]
    previous = None
    for row in rows(sections):
        shown = row[0] if row[0] != previous else ""
        previous = row[0]
        out.append("| " + " | ".join((shown, *row[1:])) + " |")
    for section in sections:
        if section.notes:
            out += ["", f"**{section.title}** — " + " ".join(section.notes)]
    out.append("")
    return "\n".join(out)


def write(out_dir: Path, sections: list[Section], env: dict[str, Any], smoke: bool,
          name: str = "latest") -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out_dir / f"{name}.md", out_dir / f"{name}.json"
    md_path.write_text(markdown(sections, env, smoke))
    document = {**env, "smoke": smoke, "sections": [asdict(s) for s in sections]}
    json_path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return md_path, json_path
