"""The web board has the gateway's connection bounds: it is served in the runner's own
process, so a local process WITHOUT the token must not be able to hold its descriptors.
Before: unfinished request heads were held forever and a 1 MiB head was read whole.
A real server on a free loopback port, raw sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from teammesh.mesh.board import create_board
from teammesh.mesh.teamfile import builtin_team
from teammesh.serving.limits import ServerLimits
from teammesh.web.feed import Feed
from teammesh.web.server import serve_board
from teammesh.web.snapshot import Source
from teammesh.web.watch import Watch

pytestmark = pytest.mark.anyio
LIMITS = ServerLimits(header_timeout_s=0.5, max_connections=20)


@contextlib.asynccontextmanager
async def _board_port(tmp_path: Path) -> AsyncIterator[int]:
    team = builtin_team()
    board = create_board(run_id="run-20260101-000000-abcdef", team=team.name,
                         roster=team.roster, path=tmp_path / "b.sqlite")
    try:
        feed = Feed(Source(board=board, team=team, watch=Watch()))
        async with serve_board(feed, limits=LIMITS) as running:
            yield running.port
    finally:
        board.close()


async def test_unfinished_heads_are_closed_and_connections_capped(tmp_path: Path) -> None:
    async with _board_port(tmp_path) as port:
        held = []
        for _ in range(30):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            await writer.drain()
            held.append((reader, writer))
        answers = [await asyncio.wait_for(reader.read(200), 10) for reader, _ in held]
        for _, writer in held:
            writer.close()
    # Every one is answered or closed by the server (none held open): the cap's 503s at
    # once, the rest at the head timeout.
    assert all(answer == b"" or answer.startswith(b"HTTP/1.1 ") for answer in answers)
    assert any(b" 503 " in answer for answer in answers)


async def test_a_huge_head_is_refused_before_the_token_is_looked_at(tmp_path: Path) -> None:
    async with _board_port(tmp_path) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Big: ".encode()
                     + b"a" * (LIMITS.max_header_bytes * 2) + b"\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
    assert status.startswith(b"HTTP/1.1 431")
