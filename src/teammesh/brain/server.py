"""`teammesh model serve`: the playbook brain behind the OpenAI Responses API.

The offline model for the codex and llm runtimes: `POST /v1/responses` (SSE when
`stream: true`, JSON otherwise), `POST /v1/chat/completions` (the same brain for clients of
OpenAI-compatible servers) and `GET /v1/models`. Each request is one `decide` call,
optionally delayed by `think_ms` to simulate model latency.

Guarded like the gateway (`teammesh.serving`): the socket is bound first so the Host/Origin
guard knows the real port; a foreign Host or Origin is refused (403, OpenAI-shaped error
with code `forbidden_host` / `forbidden_origin`); a body is JSON only under
`application/json` (415 otherwise) and at most `MAX_REQUEST_BYTES` (413); the connection
bounds of `ServerLimits` apply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from teammesh.brain.chat_completions import chat_chunks, chat_completion, parse_chat_request
from teammesh.brain.playbook import decide
from teammesh.brain.responses_input import BadRequest, ParsedRequest, parse_request
from teammesh.brain.responses_output import (
    new_response_id,
    output_items,
    response_object,
    sse_events,
    sse_frame,
    usage,
)
from teammesh.brain.types import Action
from teammesh.serving.http_protocol import uvicorn_options
from teammesh.serving.limits import ServerLimits
from teammesh.serving.listener import bind_listener, bound_port
from teammesh.serving.media_type import json_media_type_problem
from teammesh.serving.origin_guard import GuardPolicy, HostOriginGuard
from teammesh.serving.quiet_server import EmbeddedServer
from teammesh.serving.thread_twin import ServingThread, bound_arguments, same_arguments_as
from teammesh.serving.uvicorn_start import serving
from teammesh.tracing.model_spans import note_model_call, traced_model_call

MODEL_ID = "playbook"
# A long codex conversation is a few MB of JSON; far more is not a model request.
MAX_REQUEST_BYTES = 32 * 1024 * 1024
log = logging.getLogger("teammesh.brain.server")


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": None}}, status)


def _guard_error_body(code: str, message: str) -> bytes:
    """The guard's refusals in the OpenAI error shape the clients of this server read."""
    return json.dumps(
        {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    ).encode()


class _TooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if (declared is not None and declared.isascii() and declared.isdigit()
            and int(declared) > MAX_REQUEST_BYTES):
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _decide(parsed: ParsedRequest) -> Action | Response:
    try:
        return decide(parsed.conversation, parsed.tools)
    except Exception as exc:  # a brain bug: a structured 500, never a traceback page
        log.exception("playbook brain failed")
        return _error(500, f"playbook brain error: {type(exc).__name__}: {exc}", "server_error")


async def _read_and_decide(
    request: Request, parse: Callable[[Any], ParsedRequest], think_ms: int
) -> tuple[bytes, Any, ParsedRequest, Action] | Response:
    """Read and parse the body, wait the simulated model latency and ask the brain: the raw
    body, its JSON, the parsed request and the action — or the error response to send."""
    problem = json_media_type_problem(request.headers.get("content-type"))
    if problem is not None:
        return _error(415, problem)
    try:
        raw = await _read_body(request)
    except _TooLarge:
        return _error(413, f"the request body is over {MAX_REQUEST_BYTES} bytes")
    except ClientDisconnect:
        return _error(400, "client disconnected")
    try:
        body = json.loads(raw or b"null")
        parsed = parse(body)
    except json.JSONDecodeError as exc:
        return _error(400, f"the request body is not JSON: {exc.msg}")
    except BadRequest as exc:
        return _error(400, str(exc))
    except (ValueError, RecursionError) as exc:  # bad UTF-8, nesting too deep
        return _error(400, f"the request body is not JSON: {type(exc).__name__}")
    if think_ms > 0:
        await asyncio.sleep(think_ms / 1000)
    action = _decide(parsed)
    if isinstance(action, Response):
        return action
    return raw, body, parsed, action


def _event_stream(frames: list[bytes]) -> StreamingResponse:
    async def stream() -> AsyncIterator[bytes]:
        for frame in frames:
            yield frame

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )


def create_app(think_ms: int = 0) -> Starlette:
    async def responses(request: Request) -> Response:
        decided = await _read_and_decide(request, parse_request, think_ms)
        if isinstance(decided, Response):
            return decided
        raw, _, parsed, action = decided
        items = output_items(action, parsed.namespaces)
        usage_block = usage(len(raw), sum(len(json.dumps(item)) for item in items))
        note_model_call(parsed.model, usage_block)  # on its span, when traced
        response_id = new_response_id()
        created = int(time.time())
        if not parsed.stream:
            return JSONResponse(
                response_object(response_id, parsed.model, "completed", items, usage_block,
                                created)
            )
        return _event_stream(
            [sse_frame(e) for e in sse_events(response_id, parsed.model, items, usage_block,
                                              created)]
        )

    async def chat_completions(request: Request) -> Response:
        decided = await _read_and_decide(request, parse_chat_request, think_ms)
        if isinstance(decided, Response):
            return decided
        raw, body, parsed, action = decided
        note_model_call(parsed.model)  # on its span, when traced
        if not parsed.stream:
            return JSONResponse(chat_completion(action, parsed.model, len(raw)))
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return _event_stream(list(chat_chunks(action, parsed.model, len(raw), include_usage)))

    async def models(_: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": MODEL_ID, "object": "model", "created": 0,
                          "owned_by": "teammesh"}],
            }
        )

    async def not_found(request: Request, _: Exception) -> Response:
        return _error(404, f"no route {request.method} {request.url.path}", "not_found")

    async def not_allowed(request: Request, _: Exception) -> Response:
        return _error(405, f"method {request.method} not allowed on {request.url.path}")

    return Starlette(
        routes=[
            Route("/v1/responses", traced_model_call(responses), methods=["POST"]),
            Route("/v1/chat/completions", traced_model_call(chat_completions),
                  methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
        ],
        exception_handlers={404: not_found, 405: not_allowed},
    )


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host  # an IPv6 literal needs brackets in a URL


@dataclass
class RunningModelServer:
    host: str
    port: int

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT`, without `/v1`."""
        return f"http://{url_host(self.host)}:{self.port}"


class ModelServerError(RuntimeError):
    """The model server could not start (e.g. the port is taken)."""


def bind(host: str, port: int) -> socket.socket:
    try:
        return bind_listener(host, port)
    except OSError as exc:
        raise ModelServerError(f"the model server could not listen on {host}:{port}: {exc}"
                               ) from exc


def guarded_app(
    sock: socket.socket,
    host: str,
    think_ms: int = 0,
    allow_hosts: Sequence[str] = (),
    allow_origins: Sequence[str] = (),
) -> ASGIApp:
    """The app behind the Host/Origin guard of the address `sock` is bound to."""
    policy = GuardPolicy.for_listener(host, bound_port(sock), allow_hosts, allow_origins)
    return HostOriginGuard(create_app(think_ms), policy, error_body=_guard_error_body)


def server_config(app: ASGIApp, limits: ServerLimits | None = None) -> uvicorn.Config:
    return uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False,
        **uvicorn_options(limits or ServerLimits()),
    )


@asynccontextmanager
async def start_model_server(
    host: str = "127.0.0.1",
    port: int = 0,
    think_ms: int = 0,
    *,
    allow_hosts: Sequence[str] = (),
    allow_origins: Sequence[str] = (),
    limits: ServerLimits | None = None,
) -> AsyncIterator[RunningModelServer]:
    GuardPolicy.for_listener(host, port, allow_hosts, allow_origins)  # bad entries: fail now
    sock = bind(host, port)
    try:
        app = guarded_app(sock, host, think_ms, allow_hosts, allow_origins)
        server = EmbeddedServer(server_config(app, limits))
        async with serving(server, sock, stopped_early=lambda: ModelServerError(
                "the model server stopped during startup")):
            yield RunningModelServer(host, bound_port(sock))
    finally:
        sock.close()


class ModelServerThread:
    """The model server on its own event loop in a background thread (sync twin); takes the
    arguments of `start_model_server`."""

    @same_arguments_as(start_model_server)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        bound_arguments(start_model_server, args, kwargs)  # a wrong argument fails here
        self._twin = ServingThread(lambda: start_model_server(*args, **kwargs),
                                   "teammesh-model-server")
        self._running: RunningModelServer | None = None

    @property
    def base_url(self) -> str:
        if self._running is None:
            raise RuntimeError("the model server is not running")
        return self._running.base_url

    def start(self, timeout: float = 10.0) -> ModelServerThread:
        try:
            self._running = self._twin.start(timeout)
        except (ModelServerError, TimeoutError):
            raise
        except Exception as exc:
            raise ModelServerError(f"the model server failed to start: {exc}") from exc
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._twin.stop(timeout)
        self._running = None

    def __enter__(self) -> ModelServerThread:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()
