"""Who may see the board page: the holder of the token in the URL the command printed.

Jupyter's scheme: `GET /?token=T` with the right token answers a redirect to the same path
without it (so the token leaves the address bar, the history and any Referer) and sets a
cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it, so a
cross-site form or fetch arrives without it), Path=/. Every other request needs the cookie
(or `Authorization: Bearer T`, for scripts). Wrong or absent: 401, nothing of the run.

The cookie's name carries the port: cookies are not kept apart by port, and two boards on
127.0.0.1 must not overwrite each other's. Its value is derived from the token (HMAC), so
the token itself is never stored in the browser. Tokens are compared in constant time.

The Host/Origin guard (`serving.origin_guard`, shared with the gateway) runs before this.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN_PARAM = "token"


def derive(token: str, purpose: str) -> str:
    """A value bound to the token and one purpose (cookie, page token): knowing one gives
    neither the token nor the other."""
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def cookie_name(port: int) -> str:
    return f"teammesh_board_{port}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class TokenCookieAuth:
    def __init__(self, app: ASGIApp, token: str, port: int) -> None:
        self.app = app
        self._token = token.encode()
        self._cookie_value = derive(token, "cookie").encode()
        self._cookie = cookie_name(port)

    def _has_cookie(self, scope: Scope) -> bool:
        raw = _header(scope, b"cookie")
        if raw is None:
            return False
        try:
            jar = SimpleCookie(raw)
        except Exception:  # a malformed Cookie header is no credential
            return False
        morsel = jar.get(self._cookie)
        return morsel is not None and hmac.compare_digest(morsel.value.encode(),
                                                          self._cookie_value)

    def _has_bearer(self, scope: Scope) -> bool:
        raw = _header(scope, b"authorization") or ""
        scheme, _, credentials = raw.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode("latin-1"), self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        pairs = parse_qsl(query, keep_blank_values=True)
        given = [value for key, value in pairs if key == TOKEN_PARAM]
        if given and scope.get("method") in ("GET", "HEAD"):
            if len(given) == 1 and hmac.compare_digest(given[0].encode("latin-1", "replace"),
                                                       self._token):
                await self._enter(scope, send, [(k, v) for k, v in pairs if k != TOKEN_PARAM])
                return
            await _refuse(scope, send)
            return
        if self._has_cookie(scope) or self._has_bearer(scope):
            await self.app(scope, receive, send)
            return
        await _refuse(scope, send)

    async def _enter(self, scope: Scope, send: Send, rest: list[tuple[str, str]]) -> None:
        """The right token in the URL: the cookie, and the same address without the token."""
        # Same origin only: `//host/` or `/\\host/` (browsers read both as another host) and
        # their percent-encoded forms would make the sign-in an open redirect.
        path = "/" + quote(str(scope.get("path", "/")).lstrip("/\\"), safe="/")
        location = path + (f"?{urlencode(rest)}" if rest else "")
        cookie = (f"{self._cookie}={self._cookie_value.decode()}; HttpOnly; SameSite=Strict;"
                  " Path=/")
        await send({"type": "http.response.start", "status": 303, "headers": [
            (b"location", location.encode("latin-1", "replace")),
            (b"set-cookie", cookie.encode()),
            (b"cache-control", b"no-store"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-length", b"0"),
        ]})
        await send({"type": "http.response.body", "body": b""})


UNAUTHORIZED = {"status": "error", "code": "unauthorized",
                "message": "open the board with the URL teammesh printed (it carries the"
                           " token)"}
_PAGE = (b"<!doctype html><meta charset=utf-8><title>teammesh board</title>"
         b"<p>Not signed in: open the board with the URL <code>teammesh</code> printed"
         b" (it carries the token).</p>")


async def _refuse(scope: Scope, send: Send) -> None:
    wants_page = not str(scope.get("path", "")).startswith("/api/")
    body = _PAGE if wants_page else json.dumps(UNAUTHORIZED).encode()
    kind = b"text/html; charset=utf-8" if wants_page else b"application/json"
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", kind), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})
