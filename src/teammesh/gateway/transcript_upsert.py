"""`POST S/transcript/upsert` (routes reference §7.6, #43): a supplemental transcript row.

Order: 410 deleted → 404 unknown → body (no 403: upstream has none here). The row is merged into
the session's transcript by `(turnId, messageId)` with upstream's supplemental-row rules (wire
§5.3): status only moves up (`streaming` < `complete` < `canceled` < `error`, so a terminal row
never regresses to streaming), the longer content/details win, and a `streaming` row of a turn
that has already completed counts as `complete`. The merged row is written to the gateway store
before it changes in memory (so it survives a restart, and a refused write changes nothing),
then `transcript_updated {threadId, turnId, messageId, type, entry}` is published on the
session's thread (not broadcast) and the answer is `{status:"ok", sessionId, entry}`.

A transcript is bounded, in rows (MAX_ENTRIES) and in text (MAX_TEXT_CHARS of content,
details, ids and type over all its rows): an upsert that would pass either is refused with 413
and changes nothing; a client must not be able to grow one session's store rows and `GET S`
without limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from teammesh.gateway.http_io import read_json, validate
from teammesh.gateway.hub import Hub
from teammesh.gateway.outcome import Outcome
from teammesh.gateway.session import Session
from teammesh.gateway.transcript import Entry
from teammesh.wire import TranscriptUpsertBody

Handler = Callable[[Request], Awaitable[Outcome]]

MAX_ENTRIES = 20_000
MAX_TEXT_CHARS = 16 * 1024 * 1024
_RANK = {"streaming": 0, "complete": 1, "canceled": 2, "error": 3}


def _incoming(body: TranscriptUpsertBody) -> Entry:
    entry: Entry = {"messageId": body.messageId, "turnId": body.turnId, "role": body.role,
                    "type": body.type, "content": body.content, "status": body.status}
    if body.details is not None:  # null is dropped
        entry["details"] = body.details
    if body.startedAt is not None:
        entry["startedAt"] = body.startedAt
    if body.completedAt is not None:
        entry["completedAt"] = body.completedAt
    return entry


def merge(current: Entry | None, incoming: Entry) -> Entry:
    """The row after `incoming` is merged into `current` (a new dict; neither is changed)."""
    if current is None:
        return dict(incoming)
    merged = dict(current)
    if _RANK.get(incoming["status"], 0) >= _RANK.get(current["status"], 0):
        merged["status"] = incoming["status"]
        merged["role"] = incoming["role"]
        merged["type"] = incoming["type"]
    for key in ("content", "details"):
        new = incoming.get(key)
        if isinstance(new, str) and len(new) > len(str(current.get(key) or "")):
            merged[key] = new
    if "startedAt" in incoming and "startedAt" not in current:
        merged["startedAt"] = incoming["startedAt"]
    if "completedAt" in incoming:
        merged["completedAt"] = incoming["completedAt"]
    return merged


# Every free-text field a client sets counts: the ids and type are unbounded strings too,
# so counting only content and details let 20 000 rows of ~1 MiB `messageId`s (20 GB)
# past the cap.
_TEXT_FIELDS = ("content", "details", "messageId", "turnId", "type")


def _text(entry: Entry | None) -> int:
    if entry is None:
        return 0
    return sum(len(str(entry.get(key) or "")) for key in _TEXT_FIELDS)


def _too_big(session: Session, current: Entry | None, merged: Entry) -> Outcome | None:
    grows = _text(merged) - _text(current)
    if current is None and len(session.transcript.entries()) >= MAX_ENTRIES:
        problem = f"the transcript holds {MAX_ENTRIES} rows already"
    elif grows > 0 and sum(_text(e) for e in session.transcript.entries()) + grows > \
            MAX_TEXT_CHARS:
        problem = f"the transcript would pass {MAX_TEXT_CHARS} characters of text"
    else:
        return None
    return Outcome(413, {"status": "error", "code": "request_failed", "message": problem})


def _settled(session: Session, entry: Entry) -> Entry:
    turn = session.turn(entry["turnId"])
    if entry["status"] == "streaming" and turn is not None and turn.completed_at_ms is not None:
        entry["status"] = "complete"
    return entry


async def upsert_transcript(request: Request) -> Outcome:
    hub: Hub = request.app.state.hub
    found = hub.lookup(str(request.path_params["sessionId"]))  # 410, then 404
    if isinstance(found, Outcome):
        return found
    body = validate(TranscriptUpsertBody, await read_json(request))
    transcript = found.transcript
    current = transcript.get(body.turnId, body.messageId)
    entry = _settled(found, merge(current, _incoming(body)))
    if (refused := _too_big(found, current, entry)) is not None:
        return refused
    position = transcript.position_for(body.turnId, body.messageId)
    refused = hub.writes.first(hub.store.save_entries, found.id, [(position, entry)])
    if refused is not None:
        return refused
    if current is None:
        transcript.upsert(entry)
    else:  # in place: the hub's own later updates of this row see the merged one
        current.clear()
        current.update(entry)
    payload: dict[str, Any] = {"threadId": found.id, "turnId": entry["turnId"],
                               "messageId": entry["messageId"], "type": entry["type"],
                               "entry": dict(entry)}
    hub.fanout.publish("transcript_updated", found.id, payload)
    return Outcome(200, {"status": "ok", "sessionId": found.id, "entry": dict(entry)})


HANDLERS: dict[str, Handler] = {"sessions.transcript.upsert": upsert_transcript}
