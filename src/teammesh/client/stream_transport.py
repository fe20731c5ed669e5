"""The client's transport when it has an event stream: `sessions.send_message` goes over
the stream's websocket when the gateway granted `turnStart` (stream_turns.py), every other
request (and that one, whenever the socket cannot carry it) over HTTP.

It sits under the pipeline, so hooks, retries and the strict validator see one request
either way; the answer is judged by the operation's own allow-list, as HTTP's is, so a
caller gets the same body or the same classified `ApiError` by either path.
"""

from __future__ import annotations

import inspect
import re
from typing import Any
from urllib.parse import unquote

from teammesh.client.errors import RequestDetails, api_error
from teammesh.client.request import RequestCall
from teammesh.client.stream_turns import StreamTurns
from teammesh.client.transport import HttpxTransport, is_accepted

SEND_OPERATION = "sessions.send_message"
_SEND_PATH = re.compile(r"^/sessions/([^/?#]+)/messages$")


class StreamFirstTransport:
    def __init__(self, http: HttpxTransport, turns: StreamTurns) -> None:
        self.http = http
        self.turns = turns

    def handle_request(self, call: RequestCall) -> Any:
        if (call.operation == SEND_OPERATION and call.method == "POST" and not call.query
                and self.turns.available and isinstance(call.json_body, dict)
                and (match := _SEND_PATH.match(call.path))):
            return self._send_over_stream(call, unquote(match.group(1)))
        return self.http.handle_request(call)

    async def _send_over_stream(self, call: RequestCall, session_id: str) -> Any:
        # The one header a start carries over the socket: the trace parent (docs/tracing.md).
        traceparent = next((value for key, value in call.headers.items()
                            if key.lower() == "traceparent"), None)
        answered = await self.turns.start(session_id, call.json_body, traceparent)
        if answered is None:
            sent = self.http.handle_request(call)
            return await sent if inspect.isawaitable(sent) else sent
        status, body = answered
        if is_accepted(status, call.allow_statuses):
            return body
        raise api_error(RequestDetails(operation=call.operation, method=call.method,
                                       path=call.path, status_code=status,
                                       response_body=body))
