"""Starting a turn (`POST /api/sessions/{id}/messages`, wire §4), declared once for both
ways in: the HTTP route (app.py) and the stream's opt-in `turn.start` command
(stream_turns.py). Both run this, so a turn started over the socket meets the same order of
checks (410/404 before the body, then the body's validation, then the hub's busy, archived
and session-policy checks) and gets the same status and body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from teammesh.gateway.http_io import validate
from teammesh.gateway.hub import Hub
from teammesh.gateway.outcome import Outcome
from teammesh.tracing.gateway_spans import traced_send
from teammesh.wire import SendMessageBody


async def start_turn(hub: Hub, session_id: str, read_raw: Callable[[], Awaitable[Any]],
                     headers: Mapping[str, str]) -> Outcome:
    """The route's answer. `read_raw` gives the parsed JSON body (None: no body); it and the
    validation raise `BodyError` for a client mistake, as every route's body reading does.
    `headers`: where the caller's `traceparent` is, if any (docs/tracing.md)."""
    found = hub.lookup(session_id)  # 410 / 404 before the body, as upstream
    if isinstance(found, Outcome):
        return found
    body = validate(SendMessageBody, await read_raw())
    # Under the gateway's turn span, parented on the caller's traceparent.
    return await traced_send(headers, session_id, found.runtime_key, found.controls.model,
                             hub.send_message(session_id, body))
