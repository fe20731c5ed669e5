"""A real model endpoint that fails: every request is answered with one HTTP status in the
OpenAI error shape (`{"error": {"message", "type", "code"}}`), and counted. Also a port
that refuses connections (bound, then closed)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.runtimes.loopback_app import loopback_socket, serving


@dataclass
class ErrorServer:
    base_url: str
    requests: int = 0


def refused_url() -> str:
    """The URL of a loopback port nothing listens on (connections are refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/v1"


@contextlib.asynccontextmanager
async def error_model_server(status: int, message: str) -> AsyncIterator[ErrorServer]:
    sock = loopback_socket()
    server_info = ErrorServer(f"http://127.0.0.1:{sock.getsockname()[1]}/v1")

    async def fail(request: Request) -> JSONResponse:
        server_info.requests += 1
        kind = "invalid_request_error" if status < 500 else "server_error"
        return JSONResponse({"error": {"message": message, "type": kind, "code": None}},
                            status_code=status)

    app = Starlette(routes=[Route("/{path:path}", fail, methods=["GET", "POST"])])
    async with serving(app, sock):
        yield server_info
