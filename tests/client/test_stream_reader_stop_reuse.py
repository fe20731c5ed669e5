"""The stream reader's idle wait (client/stream_reader.py) with a stop event that is set,
cleared and waited on again, over a real gateway's websocket: the second set must wake
the wait as the first did. The reader watches a stop event with one task for its life;
once that task had seen the event set it was done, and a wait on the same event, cleared,
was woken by nothing but its timer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from teammesh.client.stream_answers import StreamAnswers
from teammesh.client.stream_reader import FrameReader
from teammesh.gateway.embedded import start_gateway

from ..gateway.helpers import open_stream

pytestmark = pytest.mark.anyio

NEVER_S = 3600.0  # the wait's own timer: far past the test's patience


async def test_a_cleared_and_set_again_stop_event_wakes_the_wait(tmp_path: Path) -> None:
    async with start_gateway(data_dir=tmp_path) as gateway:
        socket = await open_stream(gateway.base_url)
        reader = FrameReader(socket, StreamAnswers())
        stop = asyncio.Event()
        try:
            for _ in range(3):
                waiting = asyncio.ensure_future(reader.next(stop, NEVER_S))
                await asyncio.sleep(0.05)  # the wait is parked on its future
                assert not waiting.done()
                stop.set()
                assert await asyncio.wait_for(waiting, 10) is None
                stop.clear()
        finally:
            await reader.close()
            await socket.close()
