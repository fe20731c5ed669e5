"""Optional bearer-token guard for every HTTP route and the websocket handshake.

With a token configured, a request without `Authorization: Bearer <token>` (compared in
constant time) gets 401 — `/api/health` included, so nothing about the server leaks to an
unauthenticated caller. The token is never logged.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

UNAUTHORIZED_BODY = json.dumps(
    {"status": "error", "code": "unauthorized", "message": "missing or invalid bearer token"}
).encode()
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(UNAUTHORIZED_BODY)).encode()),
    (b"www-authenticate", b"Bearer"),
]


def _presented(scope: Scope) -> bytes:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credentials = bytes(value).partition(b" ")
            if scheme.lower() == b"bearer":
                return credentials.strip()
            return b""
    return b""


class BearerAuth:
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._token is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if hmac.compare_digest(_presented(scope), self._token):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 401, "headers": _HEADERS})
            await send({"type": "http.response.body", "body": UNAUTHORIZED_BODY})
            return
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            await send(
                {"type": "websocket.http.response.start", "status": 401, "headers": _HEADERS}
            )
            await send({"type": "websocket.http.response.body", "body": UNAUTHORIZED_BODY})
        else:
            await send({"type": "websocket.close", "code": 1008})  # the server answers 403
