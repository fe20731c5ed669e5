"""`GET /`: what this server is and where to go next, instead of a bare route-miss 404.

A person who opens the gateway's address in a browser (or curls it) learns that this is an
API, not a page: the routes to start from, where the docs are, and that the web board is a
separate server (`teammesh run --web`, `teammesh board serve`). It is registered inside the
app like every route, so the Host/Origin guard and the bearer token apply as before (with a
token set, no token still means 401), and it holds nothing about this server's state or
settings: no token, no data directory, no runtime, no version."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from teammesh.gateway.http_io import json_response

POINTER = {
    "name": "teammesh gateway",
    "what": "the codex-manager HTTP + websocket API for agent sessions; not a web page",
    "api": "/api",
    "health": "/api/health",
    "openapi": "/openapi.json",
    "stream": "/api/stream (websocket)",
    "docs": "docs/gateway.md in the teammesh source (README.md for the rest)",
    "web_board": "served separately: `teammesh run TEAM --web`, `teammesh demo --web`, or"
                 " `teammesh board serve RUN_ID` print its URL",
}


async def root_pointer(request: Request) -> Response:
    return json_response(200, POINTER)
