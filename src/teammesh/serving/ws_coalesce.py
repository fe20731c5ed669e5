"""uvicorn's websockets-sansio protocol with one socket write per burst of text frames.

uvicorn writes every `websocket.send` to the socket at once: one `send()` syscall (and, on
loopback with TCP_NODELAY, one TCP segment the client wakes up for) per frame. The gateway
publishes in bursts: one codex notification becomes two or three events (its typed
`app_server.*` event, the legacy alias, the generic `notification`), and a socket's writer
sends everything queued without yielding. Here a text frame is only serialised into the
websockets connection's output buffer, and the buffer goes out in a single `transport.write`:
at once when the sender says no more frames follow (`MORE` false in the ASGI message: the
gateway's writer knows its queue, gateway/stream.py), else from a `call_soon` callback once
the sender yields to the loop (a sender that does not say, like the model server's).

A sender that holds a whole burst can hand it over in one ASGI message: `{"type":
"websocket.send", BATCH: [text, ...]}` (offered in the connection scope's `extensions` under
`BATCH`, so a sender checks before using it; the gateway's stream writer does). Each text
is still its own frame, framed here directly (a server frame with no extension is two to ten
header bytes and the payload; websockets' own `send_text` builds the same bytes) and the
burst leaves in one `transport.write`: a burst of n events costs one pass through the
ASGI send chain (starlette, uvicorn, this class) instead of n, most of the per-frame
CPU a codex turn's ~40 frames cost (docs/performance.md).

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
import struct
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.protocol import State

# Past this many deferred bytes the burst is written now (asyncio's default write high-water
# mark is 64 KiB): the deferral never holds more than one socket buffer's worth.
FLUSH_AT_BYTES = 64 * 1024
# An ASGI `websocket.send` key of ours: True, more frames follow at once (hold this one);
# False, the last of its burst (write now). uvicorn's own protocol ignores unknown keys.
MORE = "teammesh.more"
# A connection-scope extension and `websocket.send` key of ours: a list of texts, one frame
# each, written in one go.
BATCH = "teammesh.texts"
_FIN_TEXT = 0x81  # FIN bit + text opcode; server frames are not masked (RFC 6455 §5.1)


def text_frame_header(size: int) -> bytes:
    """The header of an unmasked, unfragmented text frame of `size` payload bytes."""
    if size < 126:
        return bytes((_FIN_TEXT, size))
    if size < 1 << 16:
        return struct.pack("!BBH", _FIN_TEXT, 126, size)
    return struct.pack("!BBQ", _FIN_TEXT, 127, size)


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    _deferred_bytes = 0
    _flush_handle: asyncio.Handle | None = None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The scope is built above and read by the app's task, which has not run yet.
        self.scope["extensions"][BATCH] = {"write_now": self.write_now}

    def write_now(self, texts: list[str]) -> bool:
        """Write `texts` as frames at once from a plain callback (no task, no await) when
        the connection can take them now, and say so; False, nothing written, when it
        cannot (not open yet or any more, paused by back-pressure): the caller then sends
        them the ASGI way, which waits or fails as uvicorn's path does. A burst past
        `FLUSH_AT_BYTES` also goes that way, so back-pressure is seen between its parts."""
        if not self._open_plain() or self.disconnected or not self.writable.is_set():
            return False
        if sum(len(t) for t in texts) > FLUSH_AT_BYTES // 4:  # chars: at most 4 bytes each
            frames = self._frames(texts)
            if sum(len(f) for f in frames) > FLUSH_AT_BYTES:
                return False
            self._write(frames)
            return True
        self._write(self._frames(texts))
        return True

    def _open_plain(self) -> bool:
        conn = self.conn
        return not (
            not self.handshake_complete or self.close_sent or self.initial_response is not None
            or conn.extensions or conn.state is not State.OPEN or conn.expect_continuation_frame
            or self.transport.is_closing()
        )

    async def send(self, message: Any) -> None:
        texts = message.get(BATCH) if message["type"] == "websocket.send" else None
        if texts is not None:
            await self._send_batch(texts)
            return
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
        if message.get(MORE) is False or self._deferred_bytes >= FLUSH_AT_BYTES:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    async def _send_batch(self, texts: list[str]) -> None:
        if not self._open_plain():
            # Not a plain open connection: each text takes the one-frame path (its checks
            # and errors).
            for text in texts:
                await self.send({"type": "websocket.send", "text": text, MORE: True})
            self._flush()
            return
        # Written in parts of about `FLUSH_AT_BYTES`, each after the transport takes more
        # (its high-water mark pauses us between parts, as the one-frame path does).
        frames = self._frames(texts)
        start = 0
        while start < len(frames):
            end, size = start, 0
            while end < len(frames) and (end == start or size + len(frames[end]) <= FLUSH_AT_BYTES):
                size += len(frames[end])
                end += 1
            await self.writable.wait()
            if self.disconnected or not self._open_plain():
                raise ClientDisconnected()  # closed while waiting: these frames cannot go
            self._write(frames[start:end])
            start = end

    @staticmethod
    def _frames(texts: list[str]) -> list[bytes]:
        """Each text as one whole frame (header and payload)."""
        frames = []
        for text in texts:
            data = text.encode()
            frames.append(text_frame_header(len(data)) + data)
        return frames

    def _write(self, frames: list[bytes]) -> None:
        # Whatever went through the connection before (frames deferred by the one-frame
        # path, a pong) leaves first: order is kept.
        output = self.conn.data_to_send()
        output.extend(frames)
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._deferred_bytes = 0
        if not self.transport.is_closing():
            self.transport.write(b"".join(output))

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._deferred_bytes = 0
        output = self.conn.data_to_send()  # empty if another write took the frames already
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))
