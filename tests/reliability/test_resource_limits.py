"""What one client can make a server hold: connections that never finish their request head,
huge heads, more connections than the process has descriptors, a websocket that stops
reading, command frames built to crash the parser — each tried against the real gateway
(a `teammesh serve` process where its figures matter: descriptors, RSS, its log).

Every wait is bounded; what is asserted is an outcome (closed, refused, still answering,
bounded), never a duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from teammesh.brain.server import start_model_server
from teammesh.gateway.embedded import start_gateway
from teammesh.serving.limits import ServerLimits
from teammesh.serving.quiet_server import ACCEPT_ERROR, limited_accept_errors

from .procs import GatewayProcess

PARTIAL_HEAD = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


async def _open_partial(port: int, count: int) -> list[tuple[asyncio.StreamReader,
                                                             asyncio.StreamWriter]]:
    connections = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(PARTIAL_HEAD)
        connections.append((reader, writer))
    return connections


RESET = b"<reset>"


async def _closed_by_server(reader: asyncio.StreamReader, within: float) -> bytes | None:
    """What the server sent before closing (RESET when the close came as a reset, which
    may swallow a refusal the server wrote), or None when it did not close in time."""
    try:
        return await asyncio.wait_for(reader.read(), within)
    except ConnectionResetError:
        return RESET
    except TimeoutError:
        return None


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_unfinished_request_heads_are_closed_and_health_answers_meanwhile(
    tmp_path: Path,
) -> None:
    log = tmp_path / "gateway.log"
    with GatewayProcess(tmp_path / "gateway", log_path=log,
                        extra=["--header-timeout", "2"]) as gateway:
        connections = await _open_partial(gateway.port, 200)
        try:
            async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http:
                assert (await http.get("/api/health")).status_code == 200
            # Trickling bytes does not extend the deadline: it is per head, not per byte.
            for _ in range(3):
                for _, writer in connections[:50]:
                    writer.write(b"x")
                await asyncio.sleep(0.3)
            outcomes = await asyncio.gather(
                *(_closed_by_server(reader, 15) for reader, _ in connections))
        finally:
            for _, writer in connections:
                writer.close()
        assert all(outcome is not None for outcome in outcomes), \
            f"{sum(o is None for o in outcomes)} of 200 unfinished heads still open"
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http:
            assert (await http.get("/api/health")).status_code == 200
        assert gateway.stats().fds < 100  # every one of them was released
    print("\nslow heads: 200 connections with an unfinished head, all closed by the server")


@pytest.mark.anyio
@pytest.mark.timeout(90)
async def test_more_connections_than_descriptors_get_503_never_emfile(tmp_path: Path) -> None:
    """With `ulimit -n 512` the cap is clamped (512 - 128 accept batch - 128 reserve = 256):
    connections beyond it are answered 503 at once, the process never runs out of
    descriptors, and once the slow ones time out everything answers again."""
    log = tmp_path / "gateway.log"
    with GatewayProcess(tmp_path / "gateway", log_path=log, fd_limit=512, log_level="info",
                        extra=["--header-timeout", "4"]) as gateway:
        connections = await _open_partial(gateway.port, 400)
        try:
            peak_fds = gateway.stats().fds
            async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http:
                full = await http.get("/api/health")
            assert full.status_code == 503 and full.json()["code"] == "too_many_connections"
            outcomes = await asyncio.gather(
                *(_closed_by_server(reader, 20) for reader, _ in connections))
        finally:
            for _, writer in connections:
                writer.close()
        refused = [o for o in outcomes if o is not None and
                   (o.startswith(b"HTTP/1.1 503") or o == RESET)]
        timed_out = [o for o in outcomes if o == b""]
        assert len(refused) + len(timed_out) == 400, "a connection was left open"
        assert len(timed_out) <= 256 and len(refused) >= 400 - 256
        assert peak_fds < 512
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http:
            assert (await http.get("/api/health")).status_code == 200
    text = log.read_text(encoding="utf-8")
    assert "Too many open files" not in text and ACCEPT_ERROR not in text
    assert text.count("connection limit reached") <= 2  # rate-limited, not one per refusal
    print(f"\nconnection cap: {len(timed_out)} held until the head timeout, {len(refused)} "
          f"answered 503, peak descriptors {peak_fds} of 512")


def _send_huge_head(port: int, header_bytes: int) -> bytes:
    """Send a head with one header of `header_bytes`; what came back before the close."""
    chunk = b"a" * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
            for _ in range(header_bytes // len(chunk)):
                sock.sendall(chunk)
            sock.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            return sock.recv(65536)
    return b""


@pytest.mark.anyio
@pytest.mark.timeout(90)
async def test_huge_request_heads_are_refused_without_growing_memory(tmp_path: Path) -> None:
    with GatewayProcess(tmp_path / "gateway") as gateway:
        await _huge_heads(gateway)


async def _huge_heads(gateway: GatewayProcess) -> None:
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http:
        assert (await http.get("/api/health")).status_code == 200
        before = gateway.stats().rss_mib
        # One header over the cap, and many small ones adding up over it: 431.
        big = await http.get("/api/health", headers={"X-Big": "a" * 100_000})
        assert big.status_code == 431 and big.json()["code"] == "headers_too_large"
        many = await http.get("/api/health",
                              headers={f"X-H{n}": "v" * 40 for n in range(2000)})
        assert many.status_code == 431
        # 16 x 48 MiB (before: 909 MiB RSS, never released).
        answers = await asyncio.gather(
            *(asyncio.to_thread(_send_huge_head, gateway.port, 48 * 1024 * 1024)
              for _ in range(16)))
        after = gateway.stats().rss_mib
        assert all(a == b"" or a.startswith(b"HTTP/1.1 431") for a in answers), answers
        assert after - before < 64, f"RSS grew {after - before:.0f} MiB"
        assert (await http.get("/api/health")).status_code == 200
    print(f"\nhuge heads: 16 x 48 MiB refused; gateway RSS {before:.0f} -> {after:.0f} MiB")


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_a_websocket_that_stops_reading_is_closed_1013_at_the_byte_cap(
    tmp_path: Path,
) -> None:
    """Few, large frames: far under the frame cap, so only the byte cap can end it."""
    limits = ServerLimits(ws_queue_bytes=1024 * 1024, ws_queue_frames=10_000)
    frame = "x" * 200_000
    published = 300  # 60 MB: more than loopback socket buffers plus the cap
    async with start_gateway(data_dir=tmp_path, limits=limits) as gateway:
        url = gateway.base_url.replace("http://", "ws://") + "/api/stream"
        # max_queue=1: the client stops reading from its socket once one frame waits.
        async with connect(url, max_queue=1, max_size=None) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ready"
            for n in range(published):
                gateway.hub.fanout.publish("reliability_probe", None, {"n": n, "pad": frame})
                await asyncio.sleep(0.002)  # the writer runs in between: a slow reader
            received = 0
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
                    received += 1
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        assert received < published
        # Other sockets are unaffected.
        async with connect(url) as other:
            assert json.loads(await asyncio.wait_for(other.recv(), 10))["type"] == "ready"
    print(f"\nslow reader: closed 1013 after {received} of {published} 200 kB frames")


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_deep_and_oversized_command_frames_get_an_error_frame(tmp_path: Path) -> None:
    invalid = {"type": "error", "message": "invalid websocket command"}
    async with start_gateway(data_dir=tmp_path) as gateway:
        url = gateway.base_url.replace("http://", "ws://") + "/api/stream"
        async with connect(url) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "ready"
            for attack in ("[" * 50_000, '{"a":' * 10_000 + "1" + "}" * 10_000,
                           "[" * 200_000, '{"type":"ping","pad":"' + "x" * 100_000 + '"}',
                           ("[" * 50_000).encode()):
                await ws.send(attack)
                assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == invalid
                await ws.send(json.dumps({"type": "ping"}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_the_model_server_bounds_heads_too() -> None:
    async with start_model_server(limits=ServerLimits(header_timeout_s=1.0)) as server, \
            httpx.AsyncClient(timeout=10) as http:
        big = await http.get(f"{server.base_url}/v1/models", headers={"X-Big": "a" * 100_000})
        assert big.status_code == 431
        port = int(server.base_url.rsplit(":", 1)[1])
        [(reader, writer)] = await _open_partial(port, 1)
        try:
            assert await _closed_by_server(reader, 10) == b""
        finally:
            writer.close()
        assert (await http.get(f"{server.base_url}/v1/models")).status_code == 200


@pytest.mark.anyio
async def test_accept_errors_are_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What asyncio's accept loop reports at EMFILE, a thousand times: one line."""
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.WARNING, logger="teammesh.serving"), \
            limited_accept_errors(loop):
        for _ in range(1000):
            loop.call_exception_handler({"message": ACCEPT_ERROR,
                                         "exception": OSError(24, "Too many open files")})
    lines = [r for r in caplog.records if ACCEPT_ERROR in r.getMessage()]
    assert len(lines) == 1


def test_descriptor_budget_keeps_the_cap_under_ulimit() -> None:
    from teammesh.serving.limits import connection_cap

    assert connection_cap(1000, 1024) == 768
    assert connection_cap(1000, 512) == 256
    assert connection_cap(1000, None) == 1000
    assert connection_cap(100, 1024) == 100
