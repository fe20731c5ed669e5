"""The measurement of `test_retention.py`, in a process of its own: tracemalloc counts every
allocation of the process, so in the test process (under pytest-xdist, a worker that has
run an arbitrary mix of other tests) the figure would move with whatever ran before. Prints
one JSON line: the traced bytes after each round, and the turns served.

    python -m tests.reliability.retention_probe SESSIONS TURNS ROUNDS DATA_DIR
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import tracemalloc
from pathlib import Path

from teammesh.gateway.embedded import start_gateway

from .loadgen import run_load


async def measure(sessions: int, turns_each: int, rounds: int, data_dir: Path
                  ) -> tuple[list[int], int]:
    tracemalloc.start()
    try:
        async with start_gateway(data_dir=data_dir) as gateway:
            marks = []
            turns = 0
            for _ in range(rounds):
                load = await run_load(gateway.base_url, sessions, 60.0, delete_after=True,
                                      max_turns=turns_each)
                assert load.errors == [], load.errors
                assert load.turns == sessions * turns_each, load.turns
                turns += load.turns
                gc.collect()
                marks.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    return marks, turns


def main() -> None:
    sessions, turns_each, rounds = (int(a) for a in sys.argv[1:4])
    marks, turns = asyncio.run(measure(sessions, turns_each, rounds, Path(sys.argv[4])))
    print(json.dumps({"marks": marks, "turns": turns}))


if __name__ == "__main__":
    main()
