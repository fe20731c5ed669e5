"""A model endpoint that plays the seed's team (the playbook brain decides every step) but
puts hostile text in front of each final message: terminal escape sequences (OSC title,
clear screen, a C1 CSI), a bidi override and HTML. What a compromised or prompt-injected
model can send; the runner must print, record and serve it as inert text."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from teammesh.brain.playbook import decide
from teammesh.brain.responses_input import parse_request
from teammesh.brain.responses_output import (
    new_response_id,
    output_items,
    response_object,
    sse_events,
    sse_frame,
    usage,
)
from teammesh.brain.types import Action
from tests.runtimes.loopback_app import loopback_socket, serving

HOSTILE = ("\x1b]0;owned\x07\x1b[2J\x9b31m\u202egnp.exe "
           "<img src=x onerror=alert(1)><script>alert(2)</script> ")
# Bytes that must never reach a terminal or a page as markup.
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\u202e")


def _app() -> Starlette:
    async def responses(request: Request) -> Response:
        parsed = parse_request(json.loads(await request.body()))
        action = decide(parsed.conversation, parsed.tools)
        if action.message is not None:
            action = Action(message=HOSTILE + action.message)
        items = output_items(action, parsed.namespaces)
        block, rid, created = usage(100, 10), new_response_id(), int(time.time())
        if not parsed.stream:
            return JSONResponse(response_object(rid, parsed.model, "completed", items, block,
                                                created))
        frames = [sse_frame(e) for e in sse_events(rid, parsed.model, items, block, created)]

        async def stream() -> AsyncIterator[bytes]:
            for frame in frames:
                yield frame

        return StreamingResponse(stream(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/responses", responses, methods=["POST"])])


@contextlib.asynccontextmanager
async def hostile_model() -> AsyncIterator[str]:
    """The endpoint's base URL (`--model-base-url`) while the block runs."""
    sock = loopback_socket()
    async with serving(_app(), sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
