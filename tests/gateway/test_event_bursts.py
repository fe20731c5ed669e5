"""Bursts of events: the gateway publishes one codex notification as two or three events in
one go, a socket's writer sends them without yielding, and the websocket protocol writes the
burst to the socket at once (serving/ws_coalesce.py); the params those events share are
encoded once (`FanOut.publish_encoded`). What must hold: every frame arrives whole, alone
and in publish order, also past the flush-at size and right before a close, and the text
is byte for byte what encoding the envelope gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.fanout import FanOut, Subscriber, dumps
from teammesh.serving.ws_coalesce import FLUSH_AT_BYTES
from teammesh.wire import envelope

from .helpers import next_frame, open_stream

pytestmark = pytest.mark.anyio


async def _frames(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [await next_frame(socket) for _ in range(count)]


async def test_a_burst_arrives_whole_and_in_order(tmp_path: Path) -> None:
    # 300 frames of ~1 KiB in one synchronous burst: several times the flush-at size, so
    # both the deferred flush and the flush-now path carry frames.
    filler = "é" * 500  # non-ASCII: byte and character counts differ
    count = 300
    assert count * len(filler) > FLUSH_AT_BYTES
    async with start_gateway(data_dir=tmp_path) as gateway:
        sockets = [await open_stream(gateway.base_url) for _ in range(2)]
        for n in range(count):
            gateway.hub.fanout.publish("burst", None, {"n": n, "filler": filler})
        for socket in sockets:
            frames = await _frames(socket, count)
            assert [f["payload"]["n"] for f in frames] == list(range(count))
            assert all(f["payload"]["filler"] == filler and f["type"] == "burst"
                       for f in frames)
            await socket.close()


async def test_frames_queued_before_a_close_come_before_it(tmp_path: Path) -> None:
    async with start_gateway(data_dir=tmp_path) as gateway:
        socket = await open_stream(gateway.base_url)
        for n in range(5):
            gateway.hub.fanout.publish("burst", None, {"n": n})
        gateway.hub.fanout.close_all()  # the writer closes with 1001 after the queue
        frames = [json.loads(message) async for message in socket]
        assert [f["payload"]["n"] for f in frames] == list(range(5))
        assert socket.close_code == 1001


def test_publish_encoded_is_byte_for_byte_publish() -> None:
    fanout = FanOut()
    subscriber = Subscriber()
    fanout.subscribe(subscriber)
    payload = {"method": "item/completed", "params": {"text": "naïve “quotes” \n\t\\",
                                                      "n": [1, 2.5, None, True]}}
    fanout.publish("notification", "thread-1", payload)
    fanout.publish_encoded("notification", "thread-1", lambda: dumps(payload))
    fanout.publish_encoded("notification", None, lambda: dumps(payload), broadcast=True)
    first, second, third = subscriber.pending
    assert first == second == dumps(envelope("notification", "thread-1", payload))
    assert third == dumps(envelope("notification", None, payload))


def test_publish_encoded_encodes_nothing_nobody_wants() -> None:
    fanout = FanOut()
    fanout.subscribe(Subscriber(thread_filter="other"))
    fanout.subscribe(Subscriber(event_types=frozenset({"something_else"})))

    def never() -> str:
        raise AssertionError("encoded for no subscriber")

    fanout.publish_encoded("notification", "thread-1", never)


async def test_a_burst_of_every_frame_length_form_arrives_intact(tmp_path: Path) -> None:
    # The burst path frames texts itself (serving/ws_coalesce.py): payloads around each
    # length form's edges (7-bit, 16-bit, 64-bit lengths) must come out as the client's
    # websockets library reads them, in one burst.
    async with start_gateway(data_dir=tmp_path) as gateway:
        socket = await open_stream(gateway.base_url)
        envelope_bytes = len(dumps(envelope("burst", None, {"s": ""})).encode())
        sizes = [125, 126, 127, 65535, 65536, 70000]
        for size in sizes:  # whole frame sizes: the filler makes up the difference
            gateway.hub.fanout.publish("burst", None, {"s": "x" * (size - envelope_bytes)})
        gateway.hub.fanout.publish("burst", None, {"s": "é"})
        messages = [await socket.recv() for _ in range(len(sizes) + 1)]
        assert [len(m.encode()) for m in messages[:-1]] == sizes
        assert json.loads(messages[-1])["payload"]["s"] == "é"
        await socket.close()
