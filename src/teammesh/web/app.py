"""The web board's Starlette app: the page, its static files, the state (JSON and SSE), a
member's transcript, and the one state change, answering a pending approval.

Layers, outermost first (as the gateway's): the Host/Origin guard shared with the gateway
(`serving.origin_guard`: DNS rebinding and cross-origin writes refused), the token cookie
(`access.py`), then the routes. A decision additionally needs a JSON body (a page cannot
send `application/json` cross-site without a preflight we never answer) and the per-page
token header, which only a page we served can know (the same-origin policy keeps our HTML
from other sites). `--read-only` refuses decisions and the page shows no buttons.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from teammesh.gateway.http_io import BodyError, json_response, read_json
from teammesh.serving.origin_guard import GuardPolicy, HostOriginGuard
from teammesh.web.access import TokenCookieAuth, derive
from teammesh.web.feed import MAX_STREAMS, Feed
from teammesh.web.page import render_page
from teammesh.web.transcript import transcript

log = logging.getLogger("teammesh.web")

PAGE_TOKEN_HEADER = "x-teammesh-page"
SSE_HEARTBEAT_S = 15.0
STATIC = {"board.js": "text/javascript; charset=utf-8", "board.css": "text/css; charset=utf-8"}
# No script, style or connection but our own; never framed (an approve button under another
# site's overlay is clickjacking); no referrer ever leaves.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self';"
                               " connect-src 'self'; img-src 'self' data:;"
                               " frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@dataclass
class WebConfig:
    token: str
    read_only: bool = False

    @property
    def page_token(self) -> str:
        return derive(self.token, "page")


def _error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"status": "error", "code": code, "message": message})


def _secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _feed(request: Request) -> Feed:
    feed: Feed = request.app.state.feed
    return feed


def _config(request: Request) -> WebConfig:
    config: WebConfig = request.app.state.config
    return config


async def page(request: Request) -> Response:
    config = _config(request)
    html = render_page(page_token=config.page_token, read_only=config.read_only)
    return _secured(Response(html, media_type="text/html; charset=utf-8"))


async def static(request: Request) -> Response:
    name = str(request.path_params["name"])
    kind = STATIC.get(name)
    if kind is None:
        return _error(404, "not_found", "no such file")
    body = files("teammesh.web").joinpath("static", name).read_bytes()
    return _secured(Response(body, media_type=kind))


async def state(request: Request) -> Response:
    return _secured(json_response(200, _feed(request).current))


async def events(request: Request) -> Response:
    """Server-sent events: the whole state on connect and after every change (`state`), a
    comment line as heartbeat, so proxies and the browser keep the stream open."""
    feed = _feed(request)
    if feed.streams >= MAX_STREAMS:
        return _error(503, "too_many_streams",
                      f"{MAX_STREAMS} pages already follow this board: close one")
    response = _CountedStream(feed, _follow(feed, request), media_type="text/event-stream")
    response.headers["x-accel-buffering"] = "no"
    return _secured(response)


class _CountedStream(StreamingResponse):
    """An event stream counted in `feed.streams` from its handler's answer to its end, however
    it ends (the client gone before the first byte included)."""

    def __init__(self, feed: Feed, content: AsyncIterator[str], media_type: str) -> None:
        super().__init__(content, media_type=media_type)
        self._feed = feed
        feed.streams += 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._feed.streams -= 1


async def _follow(feed: Feed, request: Request) -> AsyncIterator[str]:
    seen = -1
    while not feed.closed:
        if seen != feed.version:
            seen = feed.version
            yield f"event: state\nid: {seen}\ndata: {json.dumps(feed.current)}\n\n"
        elif not await feed.changed_since(seen, SSE_HEARTBEAT_S):
            if await request.is_disconnected():
                return
            yield ": heartbeat\n\n"


async def member_transcript(request: Request) -> Response:
    feed = _feed(request)
    name = str(request.path_params["member"])
    if name not in feed.source.team.roster:
        return _error(404, "unknown_member", "no such member in this team")
    try:
        body = await transcript(feed.source, name)
    except Exception as exc:  # the gateway went away: say so, never a traceback
        log.warning("transcript of %s unavailable: %s", name, type(exc).__name__)
        return _error(502, "transcript_unavailable",
                      f"the member's transcript could not be read ({type(exc).__name__})")
    return _secured(json_response(200, body))


async def decide(request: Request) -> Response:
    config, feed = _config(request), _feed(request)
    if config.read_only:
        return _error(403, "read_only", "this board is read-only: decisions are refused")
    presented = request.headers.get(PAGE_TOKEN_HEADER, "")
    if not hmac.compare_digest(presented.encode("latin-1", "replace"),
                               config.page_token.encode()):
        return _error(403, "forbidden", "missing or wrong page token")
    try:
        body = await read_json(request)
    except BodyError as exc:
        return json_response(exc.status, exc.body)
    decision = body.get("decision") if isinstance(body, dict) else None
    if decision not in ("approve", "deny"):
        return _error(400, "invalid_request", 'send {"decision": "approve" | "deny"}')
    raw_id = str(request.path_params["approval_id"])
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 12:
        return _error(404, "unknown_approval", "no such approval")
    board = feed.source.board
    answered, first = board.first_answer(int(raw_id), approved=decision == "approve",
                                         by="web")
    if answered is None:
        return _error(404, "unknown_approval", "no such approval")
    await feed.decided()
    public = {"id": answered.id, "state": answered.state, "answered_by": answered.answered_by}
    if not first:
        return json_response(409, {"status": "error", "code": "already_answered",
                                   "message": f"already {answered.state} by"
                                              f" {answered.answered_by}",
                                   "approval": public})
    return json_response(200, {"status": "ok", "approval": public})


async def _http_exception(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return _error(status, "request_failed",
                  "not found" if status == 404 else "request failed")


def build_web_app(feed: Feed, config: WebConfig, *, guard: GuardPolicy, port: int) -> ASGIApp:
    routes: list[Any] = [
        Route("/", page, methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
        Route("/api/state", state, methods=["GET"]),
        Route("/api/events", events, methods=["GET"]),
        Route("/api/members/{member}/transcript", member_transcript, methods=["GET"]),
        Route("/api/approvals/{approval_id}/decision", decide, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_exception})
    app.state.feed = feed
    app.state.config = config
    return HostOriginGuard(TokenCookieAuth(app, config.token, port), guard)
