"""Sync-point latency: from a turn's completion to `wait.assistant_reply` returning.

Event-driven (a stream runs; the waiter learns `turn/completed` from it) against plain
polling every 0.25 s, in one run against an in-process gateway on loopback.

    .venv/bin/python bench/sync_point.py [--turns 30] [--seed 7]

"Completed" is when a separate observer stream receives `app_server.turn.completed` for
the turn; each turn runs a random 50-300 ms (playbook think time), so polling phases vary.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time

from teammesh.client import AppServerSignal, AsyncCodexManager, StreamContext
from teammesh.gateway.embedded import GatewayThread

POLL_INTERVAL = 0.25


async def _wait_covered(cm: AsyncCodexManager) -> None:
    async with asyncio.timeout(10):
        while not cm.turns.covers("any"):  # noqa: ASYNC110 - a plain predicate
            await asyncio.sleep(0.01)


async def measure(base_url: str, turns: int, seed: int) -> dict[str, list[float]]:
    rng = random.Random(seed)
    completed_at: dict[str, float] = {}
    results: dict[str, list[float]] = {"event-driven": [], "polling 0.25 s": []}
    async with (
        AsyncCodexManager(base_url=base_url) as observer,
        AsyncCodexManager(base_url=base_url) as cm,
    ):

        @observer.on_app_server("turn.completed")
        def seen(signal: AppServerSignal, ctx: StreamContext) -> None:
            turn = signal.params.get("turn") if isinstance(signal.params, dict) else None
            if isinstance(turn, dict) and isinstance(turn.get("id"), str):
                completed_at[turn["id"]] = time.perf_counter()

        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(observer.stream.run_forever(stop_event=stop)),
            asyncio.create_task(cm.stream.run_forever(stop_event=stop)),
        ]
        try:
            await _wait_covered(observer)
            await _wait_covered(cm)
            for index in range(turns * 2):
                mode = "event-driven" if index % 2 == 0 else "polling 0.25 s"
                think_ms = rng.randint(50, 300)
                created = await cm.sessions.create(model=f"playbook?think_ms={think_ms}")
                session_id = created["session"]["sessionId"]
                accepted = await cm.sessions.send_message(session_id, "sync point")
                await cm.wait.assistant_reply(
                    session_id=session_id,
                    turn_id=accepted["turnId"],
                    timeout_seconds=30,
                    interval_seconds=POLL_INTERVAL,
                    use_stream=mode == "event-driven",
                )
                returned = time.perf_counter()
                # The observer may see the event a hair after the waiter returned.
                async with asyncio.timeout(5):
                    while accepted["turnId"] not in completed_at:  # noqa: ASYNC110
                        await asyncio.sleep(0.001)
                results[mode].append(returned - completed_at[accepted["turnId"]])
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=30, help="turns per mode")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir, GatewayThread(data_dir=data_dir) as gateway:
        results = asyncio.run(measure(gateway.base_url, args.turns, args.seed))
    print(
        f"sync-point latency, turn completed -> assistant_reply returns ({args.turns} turns each)"
    )
    for mode, values in results.items():
        ms = sorted(v * 1000 for v in values)
        p90 = ms[int(0.9 * (len(ms) - 1))]
        print(
            f"  {mode:15s} median {statistics.median(ms):7.1f} ms   p90 {p90:7.1f} ms   "
            f"min {ms[0]:6.1f} ms   max {ms[-1]:6.1f} ms"
        )


if __name__ == "__main__":
    main()
