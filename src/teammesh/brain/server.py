"""`teammesh model serve`: the playbook brain behind the OpenAI Responses API.

The offline model for the codex and llm runtimes: `POST /v1/responses` (SSE when
`stream: true`, JSON otherwise), `POST /v1/chat/completions` (the same brain for clients of
OpenAI-compatible servers) and `GET /v1/models`. Each request is one `decide` call,
optionally delayed by `think_ms` to simulate model latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

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

MODEL_ID = "playbook"
log = logging.getLogger("teammesh.brain.server")


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": None}}, status)


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
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
        parsed = parse(body)
    except json.JSONDecodeError as exc:
        return _error(400, f"the request body is not JSON: {exc.msg}")
    except BadRequest as exc:
        return _error(400, str(exc))
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
            Route("/v1/responses", responses, methods=["POST"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
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


def _bound_port(server: uvicorn.Server) -> int:
    for listener in server.servers:
        for sock in listener.sockets:
            return int(sock.getsockname()[1])
    raise RuntimeError("the model server has no listening socket")


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handling: the embedding program owns its signals (a
    Ctrl-C must reach the test or tool that started the server, not stop it quietly)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _uvicorn_server(host: str, port: int, think_ms: int) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(think_ms), host=host, port=port, log_level="warning", lifespan="off",
        access_log=False,
    )
    return _EmbeddedServer(config)


class ModelServerError(RuntimeError):
    """The model server could not start (e.g. the port is taken)."""


async def _serve(server: uvicorn.Server, host: str, port: int) -> None:
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits the process when it cannot bind: not here
        raise ModelServerError(f"the model server could not listen on {host}:{port}") from exc


@asynccontextmanager
async def start_model_server(
    host: str = "127.0.0.1", port: int = 0, think_ms: int = 0
) -> AsyncIterator[RunningModelServer]:
    server = _uvicorn_server(host, port, think_ms)
    task = asyncio.create_task(_serve(server, host, port))
    while not server.started:
        if task.done():
            task.result()  # raises the startup error
            raise ModelServerError("the model server stopped during startup")
        await asyncio.sleep(0.01)
    try:
        yield RunningModelServer(host, _bound_port(server))
    finally:
        server.should_exit = True
        await task


class ModelServerThread:
    """The model server on its own event loop in a background thread (sync twin)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, think_ms: int = 0) -> None:
        self._host, self._port, self._think_ms = host, port, think_ms
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._running: RunningModelServer | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        if self._running is None:
            raise RuntimeError("the model server is not running")
        return self._running.base_url

    def start(self, timeout: float = 10.0) -> ModelServerThread:
        self._server = _uvicorn_server(self._host, self._port, self._think_ms)
        server = self._server

        def run() -> None:
            try:
                asyncio.run(_serve(server, self._host, self._port))
            except BaseException as exc:  # surfaced to the starting thread
                self._error = exc

        self._thread = threading.Thread(target=run, name="teammesh-model-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if self._error is not None or not self._thread.is_alive():
                raise ModelServerError(f"the model server failed to start: {self._error}")
            if time.monotonic() > deadline:
                raise TimeoutError("the model server did not start in time")
            time.sleep(0.01)
        self._running = RunningModelServer(self._host, _bound_port(server))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._running = None

    def __enter__(self) -> ModelServerThread:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()
