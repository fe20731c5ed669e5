"""One socket whose direct write raises (a transport in a bad state) must not stall the
sockets after it in the same loop iteration (`FanOut._drain`): they get their texts, and the
failed one falls back to its writer task with its texts still queued."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from teammesh.gateway.fanout import FanOut, Subscriber


def test_a_raising_write_leaves_the_other_sockets_served() -> None:
    async def main() -> None:
        fanout = FanOut()
        written: dict[str, list[str]] = {"first": [], "last": []}

        def broken(texts: list[str]) -> bool:
            raise OSError("transport in a bad state")

        def writer(name: str) -> Callable[[list[str]], bool]:
            def write(texts: list[str]) -> bool:
                written[name].extend(texts)
                return True
            return write

        first = Subscriber(write_now=writer("first"))
        bad = Subscriber(write_now=broken)
        last = Subscriber(write_now=writer("last"))
        idle: list[asyncio.Task[list[str] | None]] = []
        for subscriber in (first, bad, last):
            fanout.subscribe(subscriber)
            # Each writer task is idle, waiting: the state in which the fan-out writes itself.
            idle.append(asyncio.ensure_future(subscriber.next_batch()))
        await asyncio.sleep(0)
        fanout.publish("event", "thread-1", {"n": 1})
        await asyncio.sleep(0)  # the drain callback runs
        assert len(written["first"]) == 1 and len(written["last"]) == 1
        # The broken socket's text went to its writer task instead, and direct writes stop.
        batch = await asyncio.wait_for(idle[1], 1)
        assert batch is not None and len(batch) == 1 and '"n":1' in batch[0]
        assert bad.write_now is None
        for task in idle:
            task.cancel()

    asyncio.run(main())
