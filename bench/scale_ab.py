"""A/B of two builds on the scale team, interleaved in one run (not in `make bench`):

    git -C /work/main archive main src | tar -x -C /tmp/main-src
    .venv/bin/python -m bench.scale_ab --a-src /tmp/main-src/src [--tasks 400] [--runs 3]

Build A runs the sources under `--a-src` (first on PYTHONPATH of both the gateway and the
runner process), build B this checkout; each round runs A then B, then B then A, alternately,
32 members on a fresh gateway and a fresh SQLite board (`bench.scale_stores.scale_point`).
Figures per build, medians over the rounds: tool calls/s, runner and gateway CPU per turn
(process user + system seconds over the run ÷ turns). On a shared machine both builds drift
together; the CPU per turn and the per-round B ÷ A are the figures to read.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from bench.postgres_server import postgres_dsn
from bench.scale_stores import scale_point
from bench.scale_turns import figures
from bench.stats import median


@contextmanager
def _sources(src: str | None) -> Iterator[None]:
    """PYTHONPATH with `src` first for the children started inside (None: this checkout)."""
    saved = os.environ.get("PYTHONPATH")
    if src:
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src, saved) if p)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def measure(members: int, tasks: int, rounds: int, a_src: str,
            board: str) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    for index in range(rounds):
        for arm in ("A", "B") if index % 2 == 0 else ("B", "A"):
            with _sources(a_src if arm == "A" else None):
                runs[arm].append(scale_point(members, tasks, board))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_ab")
    parser.add_argument("--a-src", required=True, help="the sources of build A (…/src)")
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--board", default="sqlite",
                        help="sqlite, memory, postgres (a throwaway local server) or a DSN")
    args = parser.parse_args()
    with ExitStack() as stack:
        board = args.board
        if board == "postgres":
            board = stack.enter_context(postgres_dsn())
            if board is None:
                raise SystemExit("no local PostgreSQL server could be started")
        runs = measure(args.members, args.tasks, args.runs, args.a_src, board)
    each = {arm: [figures(run) for run in runs[arm]] for arm in runs}
    for arm in ("A", "B"):
        got = {key: round(median([f[key] for f in each[arm]]), 3) for key in each[arm][0]}
        print(arm, json.dumps(got), "raw calls/s:",
              [round(f["calls_per_s"]) for f in each[arm]])
    ratios = [b["calls_per_s"] / a["calls_per_s"] for a, b in zip(each["A"], each["B"],
                                                                   strict=True)]
    print("calls/s B ÷ A per round:", [round(r, 3) for r in ratios],
          "median", round(median(ratios), 3))


if __name__ == "__main__":
    main()
