"""A frame whose value holds a lone UTF-16 surrogate (`"\\ud800"`: valid JSON, which `json`
parses from a runtime's output, but no UTF-8 text) through the real gateway's fan-out.

The synchronous write path (FanOut._drain) writes every socket's texts from one callback:
a text that cannot be encoded raised there and stalled every socket drained after it in
that loop iteration, for good. The gateway's JSON text escapes such a surrogate instead
(json_text.dumps), so the frame goes out and reads back as the same value."""

from __future__ import annotations

from pathlib import Path

import pytest

from teammesh.gateway.embedded import start_gateway

from .helpers import next_frame, open_stream

pytestmark = pytest.mark.anyio


async def test_a_lone_surrogate_neither_stalls_other_sockets_nor_is_lost(tmp_path: Path) -> None:
    async with start_gateway(data_dir=tmp_path) as gateway:
        everything = await open_stream(gateway.base_url)
        other = await open_stream(gateway.base_url, thread_id="thread-b")
        try:
            fanout = gateway.hub.fanout
            # One loop iteration: the unfiltered socket is offered the odd text first.
            fanout.publish("probe", "thread-a", {"text": "x\ud800y"})
            fanout.publish("probe", "thread-b", {"text": "fine"})
            assert (await next_frame(other))["payload"] == {"text": "fine"}
            first = await next_frame(everything)
            assert first["payload"] == {"text": "x\ud800y"}  # the same value, escaped
            assert (await next_frame(everything))["payload"] == {"text": "fine"}
        finally:
            await everything.close()
            await other.close()
