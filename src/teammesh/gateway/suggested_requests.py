"""`POST S/suggested-request/upsert` (routes reference §7.5, #66): a worker reports a
suggested next request for a session.

#66 order: 410 deleted → 404 unknown → body (403: no system-owned sessions here). The entry
per session + `requestKey` lives in the gateway store (upstream keeps it in memory only; here
it also survives a restart, which no client can tell apart), bounded to the session's
KEEP_PER_SESSION most recent keys, and deleted with the session. A `streaming` report after a
terminal one is ignored (the old entry is answered, no event); any other report replaces the
entry and publishes `suggested_request_updated {sessionId, requestKey, status, suggestion?,
error?}` on the session's thread.

The two routes that ask for a suggestion (#64, #65) need codex-manager's orchestrator queue
and the extension that does the work; this gateway runs neither, so they answer upstream's
queue-disabled 503 after its guards (surface.py, `queue_unavailable`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from teammesh.gateway.clock import now_ms
from teammesh.gateway.http_io import BodyError, read_json, validate
from teammesh.gateway.hub import Hub
from teammesh.gateway.outcome import Outcome
from teammesh.gateway.store_health import refusal
from teammesh.wire import SuggestUpsertBody

Handler = Callable[[Request], Awaitable[Outcome]]

KEEP_PER_SESSION = 50
_TERMINAL = frozenset({"complete", "error", "canceled"})
DEFAULT_ERROR = "suggested request generation failed"


async def upsert_suggestion(request: Request) -> Outcome:
    hub: Hub = request.app.state.hub
    found = hub.lookup(str(request.path_params["sessionId"]))
    if isinstance(found, Outcome):
        return found
    body = validate(SuggestUpsertBody, await read_json(request))
    if body.status == "complete" and not body.suggestion:
        raise BodyError(400, {"status": "invalid_request", "code": "missing_suggestion",
                              "message": "a complete suggested request needs a suggestion"})
    try:
        current = hub.store.load_suggestion(found.id, body.requestKey)
    except Exception as exc:  # an unreadable store: the refusal a failed write gets
        hub.store_health.failed(exc)
        status, refused_body = refusal(exc)
        return Outcome(status, refused_body)
    reply = {"status": "ok", "sessionId": found.id, "requestKey": body.requestKey}
    if current is not None and current.get("status") in _TERMINAL and body.status == "streaming":
        return Outcome(200, {**reply, "entry": current})
    entry: dict[str, Any] = {"status": body.status}
    if body.suggestion is not None:
        entry["suggestion"] = body.suggestion
    error = body.error if body.error is not None else (
        DEFAULT_ERROR if body.status == "error" else None)
    if error is not None:
        entry["error"] = error
    entry["updatedAt"] = now_ms()
    refused = hub.writes.first(hub.store.save_suggestion, found.id, body.requestKey, entry,
                               KEEP_PER_SESSION)
    if refused is not None:
        return refused
    event = {"sessionId": found.id, "requestKey": body.requestKey,
             **{k: v for k, v in entry.items() if k != "updatedAt"}}
    hub.fanout.publish("suggested_request_updated", found.id, event)
    return Outcome(200, {**reply, "entry": entry})


HANDLERS: dict[str, Handler] = {"sessions.suggest_request.upsert": upsert_suggestion}
