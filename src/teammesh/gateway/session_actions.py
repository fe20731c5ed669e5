"""Session actions that are one app-server call on the session's thread (routes reference
§7.1–§7.3): fork, rollback, steer, archive/unarchive, resume — for real where the session's
runtime has the method (`upstream_routes` row `serves`: playbook/llm in process; codex
forwards steer and archive to app-server on its own thread id), upstream's 501 elsewhere.

Guards run in the row's order (`UpstreamRoute.checks`: 410 deleted, 400 body, 404 unknown).
What changes is written to the gateway store before it is answered, so it survives a restart:
a fork is a new session with the source's turns, transcript, controls and (llm) conversation;
a rollback drops the last turns from the runtime's history, the store and the transcript;
archive is a flag on the session record that `GET /api/sessions?archived=true` lists by.

Departures from upstream, on purpose: a fork while a turn runs answers 409 `invalid_state`
(the copy would hold half a turn); rollback of more turns than the thread has is 400
`invalid_params`; an unknown session is 404 `not_found` where upstream's app-server call would
fail with a 500; a fork past `--fork-session-limit` live sessions is 429 `session_limit`
(upstream has no bound; each fork copies its source). Archive while a turn runs is allowed,
as upstream (it forwards `thread/archive`, and codex 0.169 interrupts the running turn): the
turn is interrupted on every runtime, then archived; only a turn still starting is 409
`invalid_state`. None of these publish an event of codex-manager's own (§8); a fork's new
thread announces itself with `thread/started` (`app_server.thread.started`), as codex does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request

from teammesh.gateway.clock import now_s
from teammesh.gateway.http_io import read_json, validate
from teammesh.gateway.hub import Hub
from teammesh.gateway.outcome import Outcome, map_runtime_error, policy_check
from teammesh.gateway.runtime_pool import RuntimeLimitError
from teammesh.gateway.runtimes.base import Runtime, RuntimeFailure, RuntimeUnavailable
from teammesh.gateway.session import Session, Turn
from teammesh.gateway.surface import not_supported, run_checks, runtime_name
from teammesh.gateway.transcript import Transcript
from teammesh.gateway.upstream_routes import ROUTES, UpstreamRoute
from teammesh.wire import ResumeBody, ReviewBody, RollbackBody, SteerBody

log = logging.getLogger("teammesh.gateway.session_actions")

Handler = Callable[[Request], Awaitable[Outcome]]
_BY_OPERATION = {r.operation: r for r in ROUTES}
# Supplemental rows the gateway itself keeps per session (session_controls.py's audit rows):
# a fork copies the thread, not the session's own records.
_SESSION_OWN_TURNS = frozenset({"session-controls"})


def _json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def _guards(route: UpstreamRoute, request: Request
                  ) -> tuple[Session, BaseModel | None] | Outcome:
    """The row's checks in its order; then the session and the parsed body."""
    hub = _hub(request)
    session_id = str(request.path_params["sessionId"])

    async def read_body() -> BaseModel | None:
        raw = await read_json(request)  # size, media type and JSON syntax, every row
        return validate(route.body, raw) if route.body is not None else None

    checked = await run_checks(route, hub, session_id, read_body)
    if isinstance(checked, Outcome):
        return checked
    found, body = checked
    live = found if found is not None else hub.lookup(session_id)
    if isinstance(live, Outcome):
        return live
    return live, body


def _unserved(route: UpstreamRoute, session: Session) -> Outcome | None:
    runtime = runtime_name(session.runtime_key)
    return None if route.served_on(runtime) else not_supported(route, runtime, session.id)

async def _admit(operation: str, request: Request
                 ) -> tuple[Session, BaseModel | None] | Outcome:
    """The row's checks in its order, then its 501 when the session's runtime does not
    serve it; else the session and the parsed body."""
    route = _BY_OPERATION[operation]
    guarded = await _guards(route, request)
    if isinstance(guarded, Outcome):
        return guarded
    if (unserved := _unserved(route, guarded[0])) is not None:
        return unserved
    return guarded



def _invalid_state(message: str, method: str, session: Session, **details: Any) -> Outcome:
    return Outcome(409, {"status": "error", "code": "invalid_state", "message": message,
                         "details": {"method": method, "sessionId": session.id, **details}})


def _busy(session: Session) -> bool:
    return session.starting_turn or session.active_turn is not None


async def _attached(hub: Hub, session: Session, method: str) -> Runtime | Outcome:
    """The session's runtime, with the thread known to it (re-created after a restart with
    the state the store keeps, as a message would)."""
    try:
        runtime = await hub.runtimes.get(session.runtime_key)
    except RuntimeLimitError as exc:
        return Outcome(503, {"status": "error", "code": "runtime_limit", "message": str(exc)})
    except RuntimeUnavailable as exc:
        return Outcome(503, {"status": "error", "code": "runtime_unavailable",
                             "message": exc.message})
    if not session.attached:
        config = session.thread_config()
        config.state = hub.store.load_thread_state(session.id)
        try:
            await runtime.resume_thread(session.id, config)
        except Exception as exc:
            log.warning("thread/resume failed for %s", session.id, exc_info=True)
            return map_runtime_error(exc, method, session.id)
        session.attached = True
    return runtime


# --- fork (#44) --------------------------------------------------------------------------------

# Forks admitted and not yet adopted or refused, per gateway (a hub), for the limit.
_FORKS_IN_FLIGHT: weakref.WeakKeyDictionary[Hub, int] = weakref.WeakKeyDictionary()


async def fork(request: Request) -> Outcome:
    admitted = await _admit("sessions.fork", request)
    if isinstance(admitted, Outcome):
        return admitted
    source, _ = admitted
    method = "thread/fork"
    if _busy(source):
        return _invalid_state("cannot fork while a turn is in progress", method, source)
    hub = _hub(request)
    limit = hub.policy.ceiling.fork_session_limit
    # Forks under way count too: the check and the adopt are awaits apart (codex forks in
    # app-server), and concurrent forks all passing one count overshot the limit.
    in_flight = _FORKS_IN_FLIGHT.get(hub, 0)
    live = sum(1 for s in hub.sessions() if s.deleted_at is None) + in_flight
    if live >= limit:  # a fork copies the source: the copies are bounded, like runtimes
        return Outcome(429, {
            "status": "error", "code": "session_limit",
            "message": f"the gateway holds {live} live sessions, its fork limit is {limit} "
                       "(teammesh serve --fork-session-limit); delete sessions to fork again",
            "details": {"method": method, "sessionId": source.id, "limit": limit}})
    _FORKS_IN_FLIGHT[hub] = in_flight + 1
    try:
        return await _fork(hub, source, method)
    finally:
        _FORKS_IN_FLIGHT[hub] -= 1


async def _fork(hub: Hub, source: Session, method: str) -> Outcome:
    # A new session: the operator's ceiling as it is now holds for it (the source may have
    # been made under a wider one), like any create.
    refused = policy_check(lambda: hub.policy.admit_turn(
        runtime_key=source.runtime_key, cwd=source.cwd, model=None,
        approval=source.controls.approval_policy, sandbox=source.controls.filesystem_sandbox,
        network=source.controls.network_access,
        inherited=frozenset({"approval", "sandbox", "network"})))
    if isinstance(refused, Outcome):
        return refused
    # The copies are made before the runtime forks: nothing of a fork exists if one fails.
    # As JSON, the way the store keeps them: a copy.deepcopy of settings or tool schemas
    # nested a few hundred levels (bodies are admitted up to ~960) hit the recursion limit
    # (500, and a runtime thread left behind); anything the store wrote round-trips.
    turns = [Turn.from_record(_json_copy(t.to_record())) for t in source.turns]
    entries = [(position, _json_copy(entry)) for position, entry in source.transcript.items()
               if entry["turnId"] not in _SESSION_OWN_TURNS]
    controls = dataclasses.replace(source.controls,
                                   settings=_json_copy(source.controls.settings))
    dynamic_tools = _json_copy(source.dynamic_tools)
    runtime = await _attached(hub, source, method)
    if isinstance(runtime, Outcome):
        return runtime
    try:
        info = await runtime.fork_thread(source.id, source.thread_config())
    except Exception as exc:
        log.warning("thread/fork failed for %s", source.id, exc_info=True)
        return map_runtime_error(exc, method, source.id)
    forked = Session.on_thread(
        info,
        source.runtime_key,
        # Controls are copied (upstream copies the stored tuple), not title or project.
        controls=controls,
        dynamic_tools=dynamic_tools,
        preview=source.preview,
        materialized=True,
        turns=turns,
        transcript=Transcript(entries),
    )
    # All of it in one transaction (the llm conversation too, so the fork continues it after
    # a restart): written one row per commit, a kill -9 midway left a session holding part
    # of the copy, and a 20 000-row fork held the event loop for seconds.
    refused = hub.writes.first(lambda: hub.store.save_fork(
        forked, turns, entries, hub.store.load_thread_state(source.id)))
    if refused is not None:  # not written: the fork never existed
        try:
            await runtime.forget_thread(forked.id)
        except Exception:
            log.warning("forget after a refused fork failed", exc_info=True)
        return refused
    hub.adopt(forked)
    return Outcome(200, {"status": "ok", "sourceSessionId": source.id,
                         "session": forked.summary(), "thread": forked.thread()})


# --- rollback (#46) ----------------------------------------------------------------------------


async def rollback(request: Request) -> Outcome:
    admitted = await _admit("sessions.rollback", request)
    if isinstance(admitted, Outcome):
        return admitted
    session, body = admitted
    assert isinstance(body, RollbackBody)
    method, num = "thread/rollback", body.numTurns
    if _busy(session):
        return _invalid_state("cannot roll back while a turn is in progress", method, session,
                              numTurns=num)
    if num > len(session.turns):
        return Outcome(400, {"status": "error", "code": "invalid_params",
                             "message": f"numTurns {num} exceeds the thread's "
                                        f"{len(session.turns)} turn(s)",
                             "details": {"method": method, "sessionId": session.id,
                                         "numTurns": num}})
    hub = _hub(request)
    runtime = await _attached(hub, session, method)
    if isinstance(runtime, Outcome):
        return runtime
    dropped = session.turns[-num:]
    ids = [t.id for t in dropped]
    # The store first: a refused write leaves runtime, store and transcript as they were.
    refused = hub.writes.first(hub.store.delete_turns, session.id, ids)
    if refused is not None:
        return refused
    try:
        await runtime.rollback_thread(session.id, num)
    except Exception as exc:
        log.warning("thread/rollback failed for %s", session.id, exc_info=True)
        for turn in dropped:  # the runtime kept them: so does the store
            hub.writes.save(hub.store.save_turn, session.id, turn)
        hub.writes.entries(session, [e for e in session.transcript.entries()
                                    if e["turnId"] in ids])
        outcome = map_runtime_error(exc, method, session.id)
        outcome.body["details"]["numTurns"] = num
        return outcome
    session.turns = session.turns[:-num]
    session.transcript.drop_turns(set(ids))
    if not session.turns:
        session.preview = ""
    session.updated_at = now_s()
    hub.writes.save(hub.store.save_session, session)
    return Outcome(200, {"status": "ok", "sessionId": session.id, "numTurns": num,
                         "result": {"thread": session.thread()}})


# --- steer (#49): upstream's own classification (§7.2) ----------------------------------------


def _steer_class(text: str) -> str:
    lowered = text.lower()
    if "no active turn" in lowered:
        return "conflict"
    if any(s in lowered for s in ("already resolved", "already handled", "not found")):
        return "already_resolved"
    if "not eligible" in lowered:
        return "not_eligible"
    if "conflict" in lowered:
        return "conflict"
    return "failed"


async def steer(request: Request) -> Outcome:
    admitted = await _admit("sessions.steer", request)
    if isinstance(admitted, Outcome):
        return admitted
    session, body = admitted
    assert isinstance(body, SteerBody)
    turn_id = str(request.path_params["turnId"])
    details = {"threadId": session.id, "turnId": turn_id}
    error: str | None = None
    if session.active_turn is None or not session.attached:
        error = "no active turn to steer"
    else:
        runtime = _hub(request).runtimes.peek(session.runtime_key)
        try:
            if runtime is None:
                raise RuntimeFailure(-32600, "no active turn to steer")
            await runtime.steer_turn(session.id, turn_id, body.input)
        except Exception as exc:
            error = exc.message if isinstance(exc, RuntimeFailure) else str(exc)
    if error is None:
        return Outcome(200, {"status": "ok", "sessionId": session.id, "turnId": turn_id,
                             "result": {"actionType": "turn.steer", "status": "performed",
                                        "details": details}})
    kind = _steer_class(error)
    # `message` is not in upstream's body; added so every error here has the envelope.
    return Outcome(400 if kind == "failed" else 409, {
        "status": "error", "code": kind, "message": error, "sessionId": session.id,
        "turnId": turn_id,
        "result": {"actionType": "turn.steer", "status": kind,
                   "details": {**details, "error": error}}})


# --- archive / unarchive (#52, #53) -------------------------------------------------------------


# One archive or unarchive at a time per session id: the flag changes only after the
# runtime's awaits, so two racing calls both saw the old flag. codex then refused the second
# (409 `not_materialized` for a twice-archived thread) and an archive racing an unarchive
# could leave the flag and codex's thread disagreeing.
_ARCHIVING: dict[str, asyncio.Lock] = {}


async def set_archived(hub: Hub, session: Session, archived: bool) -> Outcome | None:
    """Archive (or unarchive) one session: the runtime's thread first (codex moves it),
    then the flag in the store. None when done (or already so), else the answer to give.
    Also for callers that archive many (a project's `chats/move-all` to `archive`)."""
    lock = _ARCHIVING.setdefault(session.id, asyncio.Lock())
    try:
        async with lock:  # the flag is read again once the call before this one is done
            return await _set_archived_now(hub, session, archived)
    finally:
        if not lock.locked() and _ARCHIVING.get(session.id) is lock:
            del _ARCHIVING[session.id]


async def _set_archived_now(hub: Hub, session: Session, archived: bool) -> Outcome | None:
    if session.archived == archived:
        return None
    method = "thread/archive" if archived else "thread/unarchive"
    if archived and session.starting_turn:  # its turn/start would race the archive
        return _invalid_state("cannot archive while a turn is starting", method, session)
    try:
        runtime = await hub.runtimes.get(session.runtime_key)
        active = session.active_turn
        if archived and active is not None and session.attached:
            # codex 0.169 interrupts a thread's running turn when it is archived (upstream
            # forwards the archive as it is); every runtime does the same here.
            await runtime.interrupt_turn(session.id, active.id)
        await runtime.archive_thread(session.id, archived)
    except Exception as exc:
        text = exc.message if isinstance(exc, RuntimeFailure) else str(exc)
        if archived and "no rollout found for thread id" in text:  # upstream's own 409
            return Outcome(409, {"status": "not_materialized", "sessionId": session.id})
        log.warning("%s failed for %s", method, session.id, exc_info=True)
        return map_runtime_error(exc, method, session.id)
    session.archived = archived
    refused = hub.writes.first(hub.store.save_session, session)
    if refused is not None:  # unwritten: the flag stays as it was, and so does the thread
        session.archived = not archived
        try:
            await runtime.archive_thread(session.id, not archived)
        except Exception:
            log.warning("undoing %s failed for %s", method, session.id, exc_info=True)
        return refused
    return None


async def _set_archived(request: Request, operation: str, archived: bool
                        ) -> tuple[Session, Outcome | None] | Outcome:
    admitted = await _admit(operation, request)
    if isinstance(admitted, Outcome):
        return admitted
    session, _ = admitted
    return session, await set_archived(_hub(request), session, archived)


async def archive(request: Request) -> Outcome:
    result = await _set_archived(request, "sessions.archive", True)
    if isinstance(result, Outcome):
        return result
    session, refused = result
    return refused or Outcome(200, {"status": "ok", "sessionId": session.id})


async def unarchive(request: Request) -> Outcome:
    result = await _set_archived(request, "sessions.unarchive", False)
    if isinstance(result, Outcome):
        return result
    session, refused = result
    return refused or Outcome(200, {"status": "ok", "session": session.summary(),
                                    "thread": session.thread()})


# --- resume (#57) ------------------------------------------------------------------------------


async def resume(request: Request) -> Outcome:
    admitted = await _admit("sessions.resume", request)
    if isinstance(admitted, Outcome):
        return admitted
    session, body = admitted
    assert isinstance(body, ResumeBody)
    hub, method = _hub(request), "thread/resume"
    runtime = await _attached(hub, session, method)
    if isinstance(runtime, Outcome):
        return runtime
    before = session.dynamic_tools
    if body.dynamicTools is not None:
        session.dynamic_tools = [t.to_wire() for t in body.dynamicTools]
        refused = hub.writes.first(hub.store.save_session, session)
        if refused is not None:
            session.dynamic_tools = before
            return refused
    config = session.thread_config()  # the tools a later turn gets; a running one keeps its own
    try:
        await runtime.resume_thread(session.id, config)
    except Exception as exc:
        log.warning("thread/resume failed for %s", session.id, exc_info=True)
        session.dynamic_tools = before
        hub.writes.save(hub.store.save_session, session)
        return map_runtime_error(exc, method, session.id)
    return Outcome(200, {"session": session.summary(), "thread": session.thread()})


# --- compact (#45), review (#48): one call, the result as it is ------------------------------


def _review_params(body: ReviewBody) -> dict[str, Any]:
    target: dict[str, Any]
    if body.targetType == "uncommittedChanges":
        target = {"type": "uncommittedChanges"}
    elif body.targetType == "baseBranch":
        target = {"type": "baseBranch", "branch": body.branch or "main"}
    elif body.targetType == "commit":
        target = {"type": "commit", "sha": body.sha or "", "title": body.title}
    else:
        target = {"type": "custom",
                  "instructions": body.instructions or "Review this thread's current changes."}
    return {"delivery": body.delivery, "target": target}


def _forwarded(operation: str) -> Handler:
    method = _BY_OPERATION[operation].app_server or ""

    async def handler(request: Request) -> Outcome:
        admitted = await _admit(operation, request)
        if isinstance(admitted, Outcome):
            return admitted
        session, body = admitted
        params = _review_params(body) if isinstance(body, ReviewBody) else {}
        hub = _hub(request)
        runtime = await _attached(hub, session, method)
        if isinstance(runtime, Outcome):
            return runtime
        try:
            result = await runtime.call_thread_method(session.id, method, params)
        except Exception as exc:
            log.warning("%s failed for %s", method, session.id, exc_info=True)
            return map_runtime_error(exc, method, session.id)
        return Outcome(200, {"status": "ok", "sessionId": session.id, "result": result})

    handler.__name__ = operation.replace(".", "_")
    return handler


# operation name (upstream_routes) → handler; app.py registers them on the row's path.
HANDLERS: dict[str, Handler] = {
    "sessions.fork": fork,
    "sessions.rollback": rollback,
    "sessions.steer": steer,
    "sessions.archive": archive,
    "sessions.unarchive": unarchive,
    "sessions.resume": resume,
    "sessions.compact": _forwarded("sessions.compact"),
    "sessions.review": _forwarded("sessions.review"),
    "sessions.background_terminals.clean": _forwarded("sessions.background_terminals.clean"),
}
