"""One scale point's runner, in its own process so its memory is its own:

    python -m bench.scale_worker --base-url URL --members N --tasks T [--board WHERE]
                                 [--record off]

prints one JSON line: wall seconds, the turns' span (first turn start → last turn end),
CPU seconds, tool calls, turns, resident memory at start
and peak. WHERE is the board: sqlite (a fresh file, the default), memory, or a PostgreSQL
DSN. `--record off` runs without the run record's writes (`bench.scale_record`'s floor).
`--pg-path classic`: the PostgreSQL board as it was (`bench/pg_paths.py`).
`--turns http` starts every turn with the POST (the stream's `turnStart` not asked for), as
the runner did before it: the A/B of bench/scale_turns.py."""

from __future__ import annotations

import argparse
import asyncio
import json

from bench.pg_paths import PATHS
from bench.pg_paths import use as use_pg_path
from bench.processes import rss_bytes
from bench.scale_team import scale_team
from bench.team_runs import run_team
from teammesh.mesh.runner import RunOptions


def record_off() -> None:
    """The board as it was before the run record: no call entry with a call's mutation, no
    turn stamps (the bench's floor only; nothing else turns the record off)."""
    from teammesh.mesh.board.memory_record import MemoryRecordTx
    from teammesh.mesh.board.sql_record import SqlRecordTx
    from teammesh.mesh.skills import MemberSkills

    def no_note(self: MemberSkills, ctx: object) -> None:
        return None

    def no_stamp(self: object, token: str, **_: object) -> None:
        return None

    MemberSkills._note = no_note  # type: ignore[method-assign,assignment]
    SqlRecordTx.stamp_turn = no_stamp  # type: ignore[method-assign,assignment]
    MemoryRecordTx.stamp_turn = no_stamp  # type: ignore[method-assign,assignment]


async def measure(base_url: str, members: int, tasks: int, board_at: str = "sqlite"
                  ) -> dict[str, float]:
    import os
    import time

    start_rss = rss_bytes(os.getpid())
    team = scale_team(members, tasks)
    cpu = time.process_time()
    timed = await run_team(base_url, team, RunOptions(turn_timeout=120, concurrency=members),
                           board_at)
    return {
        "wall_s": timed.wall,
        "turn_span_s": timed.turn_span,
        "cpu_s": time.process_time() - cpu,
        "tool_calls": timed.outcome.tool_calls,
        "turns": timed.outcome.turns,
        "rounds": timed.outcome.rounds,
        "rss_start": start_rss,
        "rss_peak": rss_bytes(os.getpid(), "VmHWM"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_worker")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--board", default="sqlite", help="sqlite, memory or a PostgreSQL DSN")
    parser.add_argument("--record", choices=("on", "off"), default="on")
    parser.add_argument("--turns", choices=("stream", "http"), default="stream")
    parser.add_argument("--pg-path", choices=PATHS, default="current",
                        help="a PostgreSQL board's earlier paths (bench/pg_paths.py)")
    args = parser.parse_args()
    use_pg_path(args.pg_path)
    if args.record == "off":
        record_off()
    if args.turns == "http":
        from teammesh.client.stream import AsyncEventStream

        AsyncEventStream.start_turns = False
    print(json.dumps(asyncio.run(measure(args.base_url, args.members, args.tasks, args.board))),
          flush=True)


if __name__ == "__main__":
    main()
