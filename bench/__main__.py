"""`python -m bench [--smoke] [--only KEY ...] [--out DIR]`: run the benchmarks, print the
table, write `<out>/latest.md` and `<out>/latest.json`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import time
from pathlib import Path

from bench import environment, report
from bench.report import Config, Section

# key → module; each module has `async def run(cfg) -> Section | list[Section]`.
BENCHMARKS = {
    "roundtrip": "bench.tool_roundtrip",
    "wsanswer": "bench.stream_answers",
    "seed": "bench.seed_scenario",
    "scale": "bench.scale",
    "concurrency": "bench.concurrency",
    "board": "bench.board_store",
    "codex": "bench.codex_overhead",
    "stop": "bench.gateway_stop",
    "startup": "bench.startup",
    "tracing": "bench.tracing_overhead",
    "web": "bench.web_board",
    "distributed": "bench.distributed",
}
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds long")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--out", type=Path, default=None,
                        help="results directory (default bench/results; smoke: no default)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    cfg = Config(smoke=args.smoke, repeats=args.repeats or (2 if args.smoke else 5))
    out = args.out or DEFAULT_OUT
    env = environment.describe()
    load_before = os.getloadavg()[0]
    sections: list[Section] = []
    for key in args.only or list(BENCHMARKS):
        started = time.perf_counter()
        print(f"… {key}", file=sys.stderr, flush=True)
        module = importlib.import_module(BENCHMARKS[key])
        result = asyncio.run(module.run(cfg))
        found = result if isinstance(result, list) else [result]
        for section in found:
            section.seconds = round(time.perf_counter() - started, 1)
        sections += found
        print(f"  {key}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    # Other work on the machine moves latency figures: say how busy it was.
    load_after = os.getloadavg()[0]
    env["machine"]["load_average_1m"] = f"{load_before:.2f} at start, {load_after:.2f} at end"
    print(report.text_table(sections))
    md_path, json_path = report.write(out, sections, env, cfg.smoke)
    print(f"\nwritten: {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
