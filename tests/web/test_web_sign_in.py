"""Signing in (`GET /?token=T` → 303 with the cookie) redirects within the board only:
a path a browser reads as another host (`//evil.example/`, `/\\evil.example/`, or either
percent-encoded) lands on the board's own `/evil.example/` (a 404 page there). Before: the
Location was the request's path as given, an open redirect. Raw HTTP on a real server, so
nothing normalises the path on the way."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.web.helpers import served_board

pytestmark = pytest.mark.anyio


async def _location(port: int, target: str) -> tuple[str, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 "Connection: close\r\n\r\n".encode())
    await writer.drain()
    head = (await asyncio.wait_for(reader.read(), 10)).decode("latin-1").split("\r\n")
    writer.close()
    location = next((line.split(":", 1)[1].strip() for line in head
                     if line.lower().startswith("location:")), "")
    return head[0], location


@pytest.mark.parametrize("path", ["//evil.example/", "/\\evil.example/",
                                  "/%2F%2Fevil.example/", "/%5Cevil.example/",
                                  "///evil.example/x"])
async def test_sign_in_never_redirects_to_another_host(tmp_path: Path, path: str) -> None:
    async with served_board(tmp_path) as served:
        status, location = await _location(served.running.port,
                                           f"{path}?token={served.running.token}")
    assert status.startswith("HTTP/1.1 303")
    assert location.startswith("/evil.example/"), location


async def test_sign_in_keeps_the_page_and_its_other_parameters(tmp_path: Path) -> None:
    async with served_board(tmp_path) as served:
        status, location = await _location(served.running.port,
                                           f"/?token={served.running.token}&view=tl")
    assert status.startswith("HTTP/1.1 303") and location == "/?view=tl"
