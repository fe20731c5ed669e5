"""The project routes (routes reference §6, #32–#38) and `POST S/project` (#51), for real.

State: gateway/projects.py (the projects) and each session's `project_id` (its assignment),
both in the gateway store, written before they change in memory. Events as upstream publishes
them, all broadcast past socket filters: `project_upserted {project}` and `project_deleted
{projectId, sessionIds}` (threadId null), `session_project_updated` (threadId = the session).

This gateway runs no agent worker sessions, so the parts of upstream that act on them have
nothing to act on: `agent-sessions` lists none, a rename that changes the directory deletes
none, a delete has none to delete (`sessionIds: []`). Archiving is not available here (`S/archive`
answers 501), so `move-all` to `archive` answers 501 when the project has chats to archive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from teammesh.gateway.clock import iso_now
from teammesh.gateway.http_io import read_json, validate
from teammesh.gateway.hub import Hub
from teammesh.gateway.outcome import Outcome
from teammesh.gateway.projects import Project
from teammesh.gateway.session import Session
from teammesh.wire import MoveAllBody, ProjectBody, SessionProjectBody

Handler = Callable[[Request], Awaitable[Outcome]]

# Every project is held in memory and listed whole: a client must not grow that without bound.
MAX_PROJECTS = 1000


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _project_id(request: Request) -> str:
    return str(request.path_params["projectId"])


def _not_found(project_id: str) -> Outcome:
    return Outcome(404, {"status": "not_found", "projectId": project_id})


def _duplicate(existing: Project) -> Outcome:
    return Outcome(409, {"status": "duplicate_name", "projectId": existing.id})


def _assigned(hub: Hub, project_id: str) -> tuple[list[Session], list[Session]]:
    """The project's live sessions, and its deleted ones (stale assignments)."""
    live: list[Session] = []
    stale: list[Session] = []
    for session in hub.sessions():
        if session.project_id == project_id:
            (stale if session.deleted_at is not None else live).append(session)
    return live, stale


def _drop_stale(hub: Hub, stale: list[Session]) -> None:
    # A deleted session's assignment means nothing; forgetting it is housekeeping, so a
    # failed write only leaves it for next time.
    for session in stale:
        session.project_id = None
        hub.writes.save(hub.store.save_session, session)


def _set_project(hub: Hub, session: Session, project_id: str | None) -> Outcome | None:
    """Write the session with its new project first; unwritten, nothing changes."""
    before = session.project_id
    session.project_id = project_id
    refused = hub.writes.first(hub.store.save_session, session)
    if refused is not None:
        session.project_id = before
    return refused


def _publish_project(hub: Hub, project: Project) -> None:
    hub.fanout.publish("project_upserted", None, {"project": project.summary()}, broadcast=True)


# --- projects (#32–#38) ------------------------------------------------------------------------


async def list_projects(request: Request) -> Outcome:
    return Outcome(200, {"data": [p.summary() for p in _hub(request).projects.listing()]})


async def create_project(request: Request) -> Outcome:
    hub = _hub(request)
    body = validate(ProjectBody, await read_json(request))
    if (existing := hub.projects.named(body.name)) is not None:
        return _duplicate(existing)
    if hub.projects.count >= MAX_PROJECTS:
        return Outcome(413, {"status": "error", "code": "request_failed",
                             "message": f"this gateway keeps at most {MAX_PROJECTS} projects"})
    project = hub.projects.new(body.name, body.workingDirectory)
    refused = hub.writes.first(hub.store.save_project, project.id, project.summary())
    if refused is not None:
        return refused
    hub.projects.put(project)
    _publish_project(hub, project)
    return Outcome(200, {"status": "ok", "project": project.summary(),
                         "orchestrationSession": None})


async def rename_project(request: Request) -> Outcome:
    hub, project_id = _hub(request), _project_id(request)
    body = validate(ProjectBody, await read_json(request))
    project = hub.projects.get(project_id)
    if project is None:
        return _not_found(project_id)
    if (existing := hub.projects.named(body.name, other_than=project.id)) is not None:
        return _duplicate(existing)
    # workingDirectory: absent keeps it, null clears it.
    directory = (body.workingDirectory if "workingDirectory" in body.model_fields_set
                 else project.working_directory)
    renamed = Project(project.id, body.name, directory, project.created_at, iso_now())
    refused = hub.writes.first(hub.store.save_project, renamed.id, renamed.summary())
    if refused is not None:
        return refused
    hub.projects.put(renamed)
    _publish_project(hub, renamed)  # always, as upstream (even when nothing changed)
    return Outcome(200, {"status": "ok", "project": renamed.summary()})


async def delete_project(request: Request) -> Outcome:
    hub, project_id = _hub(request), _project_id(request)
    if hub.projects.get(project_id) is None:
        return _not_found(project_id)
    live, stale = _assigned(hub, project_id)
    _drop_stale(hub, stale)
    if live:
        return Outcome(409, {"status": "project_not_empty", "projectId": project_id,
                             "sessionCount": len(live)})
    refused = hub.writes.first(hub.store.delete_project, project_id)
    if refused is not None:
        return refused
    hub.projects.remove(project_id)
    hub.fanout.publish("project_deleted", None, {"projectId": project_id, "sessionIds": []},
                       broadcast=True)
    return Outcome(200, {"status": "ok", "projectId": project_id, "unassignedSessionCount": 0})


async def agent_sessions(request: Request) -> Outcome:
    hub, project_id = _hub(request), _project_id(request)
    if hub.projects.get(project_id) is None and not project_id.startswith("session:"):
        return _not_found(project_id)
    # No agent worker sessions run here (no agent extensions): the true listing is empty.
    return Outcome(200, {"status": "ok", "projectId": project_id, "data": []})


async def move_all_chats(request: Request) -> Outcome:
    hub, project_id = _hub(request), _project_id(request)
    body = validate(MoveAllBody, await read_json(request))
    if hub.projects.get(project_id) is None:
        return _not_found(project_id)
    live, stale = _assigned(hub, project_id)
    _drop_stale(hub, stale)
    if body.destination == "archive" and live:
        return Outcome(501, {
            "status": "error", "code": "method_not_supported",
            "message": "not implemented by this gateway: archiving sessions (thread/archive); "
                       "move them to 'unassigned' instead",
            "details": {"method": "thread/archive", "operation": "projects.chats.move_all"},
        })
    moved = 0
    for session in live:
        refused = _set_project(hub, session, None)
        if refused is not None:  # the ones moved so far stay moved (and were announced)
            return refused
        moved += 1
        hub.fanout.publish("session_project_updated", session.id,
                           {"sessionId": session.id, "projectId": None}, broadcast=True)
    return Outcome(200, {"status": "ok", "projectId": project_id,
                         "destination": body.destination, "movedSessionCount": moved,
                         "archivedSessionCount": 0, "alreadyArchivedSessionCount": 0})


async def delete_all_chats(request: Request) -> Outcome:
    hub, project_id = _hub(request), _project_id(request)
    await read_json(request)  # ignored, but it must be JSON if sent (client sends {})
    if hub.projects.get(project_id) is None:
        return _not_found(project_id)
    live, stale = _assigned(hub, project_id)
    _drop_stale(hub, stale)
    deleted = skipped = 0
    for session in live:
        # Re-checked: an earlier delete awaited, and this one may have gone or moved since.
        if session.deleted_at is not None or session.project_id != project_id:
            skipped += 1
            continue
        outcome = await hub.delete_session(session.id)  # the hard delete of `DELETE S`
        if outcome.status != 200:
            return outcome
        deleted += 1
        session.project_id = None  # a tombstone belongs to no project
        hub.writes.save(hub.store.save_session, session)
    return Outcome(200, {"status": "ok", "projectId": project_id,
                         "deletedSessionCount": deleted, "skippedSessionCount": skipped})


# --- a session's project (#51) ---------------------------------------------------------------


async def set_session_project(request: Request) -> Outcome:
    """G410 → body → project check → G404 (upstream's order; G403: no system-owned
    sessions here)."""
    hub = _hub(request)
    session_id = str(request.path_params["sessionId"])
    if (deleted := hub.deleted_outcome(session_id)) is not None:
        return deleted
    body = validate(SessionProjectBody, await read_json(request))
    wanted = body.projectId
    if wanted is not None and hub.projects.get(wanted) is None:
        return Outcome(404, {"status": "project_not_found", "sessionId": session_id,
                             "projectId": wanted})
    found = hub.lookup(session_id)
    if isinstance(found, Outcome):
        return found
    previous = found.project_id
    answer: dict[str, Any] = {"status": "ok", "sessionId": found.id, "projectId": wanted,
                              "previousProjectId": previous}
    if wanted != previous:
        refused = _set_project(hub, found, wanted)
        if refused is not None:
            return refused
        hub.fanout.publish("session_project_updated", found.id, answer, broadcast=True)
    return Outcome(200, answer)


# operation name (upstream_routes) → handler
HANDLERS: dict[str, Handler] = {
    "projects.list": list_projects,
    "projects.create": create_project,
    "projects.rename": rename_project,
    "projects.delete": delete_project,
    "projects.agent_sessions.list": agent_sessions,
    "projects.chats.move_all": move_all_chats,
    "projects.chats.delete_all": delete_all_chats,
    "sessions.project.set": set_session_project,
}
