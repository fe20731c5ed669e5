"""A real HTTP proxy on loopback that keeps every request body it forwards.

Put between the llm runtime and the model server, it shows what the model was actually sent
(e.g. the conversation a request carries) without touching either side.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from tests.runtimes.loopback_app import loopback_socket, serving


@dataclass
class RecordingProxy:
    base_url: str
    bodies: list[Any] = field(default_factory=list)


@contextlib.asynccontextmanager
async def recording_proxy(target: str) -> AsyncIterator[RecordingProxy]:
    """Forward every request to `target` (`http://host:port`), streaming the answer back."""
    sock = loopback_socket()
    proxy = RecordingProxy(f"http://127.0.0.1:{sock.getsockname()[1]}")
    upstream = httpx.AsyncClient(base_url=target, timeout=30)

    async def forward(request: Request) -> Response:
        body = await request.body()
        with contextlib.suppress(ValueError):
            proxy.bodies.append(json.loads(body))
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length")}
        sent = upstream.build_request(request.method, request.url.path, content=body,
                                      headers=headers)
        answer = await upstream.send(sent, stream=True)
        return StreamingResponse(answer.aiter_raw(), status_code=answer.status_code,
                                 headers={k: v for k, v in answer.headers.items()
                                          if k.lower() in ("content-type",)},
                                 background=None)

    app = Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])])
    try:
        async with serving(app, sock):
            yield proxy
    finally:
        await upstream.aclose()
