"""uvicorn's websockets-sansio protocol with one socket write per burst of text frames.

uvicorn writes every `websocket.send` to the socket at once: one `send()` syscall (and, on
loopback with TCP_NODELAY, one TCP segment the client wakes up for) per frame. The gateway
publishes in bursts: one codex notification becomes two or three events (its typed
`app_server.*` event, the legacy alias, the generic `notification`), and a socket's writer
sends everything queued without yielding. Here a text frame is only serialised into the
websockets connection's output buffer; one callback scheduled with `call_soon` writes the
whole buffer in a single `transport.write` once the writer yields to the loop.

Why it keeps the wire and its guarantees:

- Frames stay frames: each `send` is still one websocket message; only the syscalls merge.
- Order is kept by construction: every other write uvicorn makes (pong, keepalive ping,
  close, HTTP refusal) takes `conn.data_to_send()`, which returns the pending frames first.
- Latency: the flush runs at the next loop iteration, before any I/O wait (microseconds).
- Memory and back-pressure: a burst past `FLUSH_AT_BYTES` is written at once, so the
  transport's high-water mark still pauses the writer (`writable`) as before, and a slow
  reader is still caught by the subscriber queue bounds (gateway/fanout.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

# Past this many deferred bytes the burst is written now (asyncio's default write high-water
# mark is 64 KiB): the deferral never holds more than one socket buffer's worth.
FLUSH_AT_BYTES = 64 * 1024


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    _deferred_bytes = 0
    _flush_scheduled = False

    async def send(self, message: Any) -> None:
        if (
            message["type"] != "websocket.send"
            or message.get("text") is None
            or not self.handshake_complete
            or self.close_sent
            or self.initial_response is not None
        ):
            await super().send(message)  # accept, close, bytes, refusals: uvicorn's path
            return
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        data = message["text"].encode()
        try:
            self.conn.send_text(data)
        except InvalidState:
            raise ClientDisconnected() from None
        self._deferred_bytes += len(data)
        if self._deferred_bytes >= FLUSH_AT_BYTES:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._deferred_bytes = 0
        output = self.conn.data_to_send()  # empty if another write took the frames already
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))
