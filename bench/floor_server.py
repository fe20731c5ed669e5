"""The floor of the tool-call round trip: the same two hops with the same libraries and
nothing else — a bare websocket server and a bare HTTP endpoint (Starlette on uvicorn, the
gateway's own server settings), no hub, no runtime, no persistence.

    python -m bench.floor_server      # prints `floor listening on http://127.0.0.1:PORT`

A client connects to `/ws` and sends `{"run": N}`. The server then does N round trips, one
at a time: it sends a tool-call-sized frame, waits for the client's `POST /reply` with the
same request id, and times frame sent → reply held. It answers `{"samples": [...]}`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

_waiting: dict[str, asyncio.Future[Any]] = {}


def tool_call_frame(request_id: str, n: int) -> str:
    """About the size and shape of the gateway's tool-call signal."""
    return json.dumps({
        "type": "app_server.request.item.tool.call",
        "threadId": "00000000-0000-0000-0000-000000000000",
        "payload": {
            "signalType": "request", "method": "item/tool/call", "requestId": request_id,
            "receivedAt": "2026-01-01T00:00:00.000Z",
            "context": {"threadId": "00000000-0000-0000-0000-000000000000",
                        "turnId": "00000000-0000-0000-0000-000000000001"},
            "params": {"threadId": "00000000-0000-0000-0000-000000000000",
                       "turnId": "00000000-0000-0000-0000-000000000001",
                       "callId": f"call_bench_{n}", "namespace": None,
                       "tool": "bench_echo", "arguments": {"n": n}},
            "session": {"id": "00000000-0000-0000-0000-000000000000", "title": None,
                        "projectId": None},
        },
    }, separators=(",", ":"))


async def reply(request: Request) -> JSONResponse:
    body = await request.json()
    request_id = str(body.get("requestId"))
    future = _waiting.pop(request_id, None)
    if future is None:
        return JSONResponse({"status": "not_found", "requestId": request_id}, status_code=404)
    if not future.done():
        future.set_result(body.get("response"))
    return JSONResponse({"status": "ok", "requestId": request_id})


async def stream(websocket: WebSocket) -> None:
    await websocket.accept()
    loop = asyncio.get_running_loop()
    while True:
        command = await websocket.receive_json()
        samples: list[float] = []
        for n in range(int(command["run"])):
            request_id = f"floor-{n}"
            future: asyncio.Future[Any] = loop.create_future()
            _waiting[request_id] = future
            sent = time.perf_counter()
            await websocket.send_text(tool_call_frame(request_id, n))
            await future
            samples.append(time.perf_counter() - sent)
        await websocket.send_json({"samples": samples})


def app() -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws", stream),
                             Route("/reply", reply, methods=["POST"])])


async def serve() -> None:
    # As the gateway binds: IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted sockets.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(app(), log_level="warning", access_log=False, lifespan="off",
                            ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.005)
    print(f"floor listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    import sys

    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"quit":
            break
    server.should_exit = True
    await task


if __name__ == "__main__":
    asyncio.run(serve())
