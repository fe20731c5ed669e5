"""The board's event streams (SSE) are bounded, and a stopping board ends them itself.

Real server on a free loopback port, real sockets: each stream is a raw HTTP/1.1 request
holding its connection open, as a browser tab's EventSource does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from teammesh.web.feed import MAX_STREAMS
from tests.web.helpers import Served, served_board

pytestmark = pytest.mark.anyio

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _open_stream(served: Served, cookie: str) -> tuple[Stream, int]:
    port = served.running.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 f"Cookie: {cookie}\r\n\r\n".encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    return (reader, writer), int(status_line.split()[1])


async def _cookie(served: Served) -> str:
    async with served.client() as client:
        await served.sign_in(client)
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_open_pages_end_cleanly_when_the_board_stops(tmp_path: Path) -> None:
    """Before: uvicorn cancelled each open stream after a second's wait and logged
    'Exception in ASGI application' with a traceback per open tab, on the operator's
    terminal, at the end of every `teammesh demo --web` with the page open."""
    seen = _Records()
    streams: list[Stream] = []
    async with served_board(tmp_path) as served:
        cookie = await _cookie(served)
        for _ in range(3):
            stream, status = await _open_stream(served, cookie)
            assert status == 200
            streams.append(stream)
        for name in ("uvicorn.error", "uvicorn", "teammesh"):
            logging.getLogger(name).addHandler(seen)
    try:
        for reader, writer in streams:
            rest = await asyncio.wait_for(reader.read(), 10)  # the server ended the stream
            assert b"event: state" in rest
            writer.close()
    finally:
        for name in ("uvicorn.error", "uvicorn", "teammesh"):
            logging.getLogger(name).removeHandler(seen)
    problems = [r.getMessage() for r in seen.records if r.levelno >= logging.WARNING]
    assert problems == []


async def test_event_streams_are_bounded_and_a_closed_one_frees_its_place(
        tmp_path: Path) -> None:
    """Before: every request opened one more never-ending stream (400 of 400 accepted)."""
    async with served_board(tmp_path) as served:
        cookie = await _cookie(served)
        streams: list[Stream] = []
        try:
            for _ in range(MAX_STREAMS):
                stream, status = await _open_stream(served, cookie)
                streams.append(stream)
                assert status == 200
            (reader, writer), status = await _open_stream(served, cookie)
            assert status == 503
            _, _, body = (await asyncio.wait_for(reader.read(4096), 10)).partition(
                b"\r\n\r\n")
            assert json.loads(body)["code"] == "too_many_streams"
            writer.close()
            closing = streams.pop()
            closing[1].close()
            for _ in range(100):  # the server notices the tab closed
                await asyncio.sleep(0.05)
                if served.feed.streams < MAX_STREAMS:
                    break
            stream, status = await _open_stream(served, cookie)
            streams.append(stream)
            assert status == 200
        finally:
            for _, writer in streams:
                writer.close()
