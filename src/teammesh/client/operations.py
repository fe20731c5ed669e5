"""Every client operation: its HTTP method, prefix-less path template and allow-list.

One table, read by every domain API (`api/_base.DomainApi._op`), so an operation's route and
allow-list are written once. Names and allow-lists are codex-manager's (reference
codex-manager-routes.md §3–§4); `tests/client/test_operations_table.py` holds this table equal
to the gateway's `upstream_routes.ROUTES` (the client must not import the gateway, so the
test is where the two meet).

Path templates use upstream's camelCase parameters (`{sessionId}`); the domain APIs fill them
with URL-escaped values. An allow-list lists statuses returned as data; 2xx always are, so an
empty allow-list means "every non-2xx raises".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str  # prefix-less: "/sessions/{sessionId}/fork"; "" is the prefix root (GET /api)
    allow: tuple[int, ...] = ()


_PASS = (200, 501)  # the runtime pass-through rows' default (routes §4)
S = "/sessions/{sessionId}"
P = "/projects/{projectId}"

_ROWS: tuple[Operation, ...] = (
    # system
    Operation("system.health", "GET", "/health"),
    Operation("system.info", "GET", ""),
    Operation("system.capabilities", "GET", "/capabilities"),
    Operation("system.features.experimental", "GET", "/features/experimental", _PASS),
    Operation("system.collaboration.modes", "GET", "/collaboration/modes", _PASS),
    # runtime pass-through namespaces
    Operation("models.list", "GET", "/models", _PASS),
    Operation("mcp.servers.list", "GET", "/mcp/servers", _PASS),
    Operation("mcp.reload", "POST", "/mcp/reload", _PASS),
    Operation("mcp.oauth.login", "POST", "/mcp/servers/{serverName}/oauth/login", _PASS),
    Operation("apps.list", "GET", "/apps", _PASS),
    Operation("skills.list", "GET", "/skills", _PASS),
    Operation("skills.config.set", "POST", "/skills/config", _PASS),
    Operation("skills.remote.get", "GET", "/skills/remote", (200, 500, 501)),
    Operation("skills.remote.set", "POST", "/skills/remote", _PASS),
    Operation("account.get", "GET", "/account", (200, 401, 501)),
    Operation("account.login.start", "POST", "/account/login/start", (200, 400, 501)),
    Operation("account.login.cancel", "POST", "/account/login/cancel", (200, 404, 501)),
    Operation("account.logout", "POST", "/account/logout", _PASS),
    Operation("account.rate_limits", "GET", "/account/rate-limits", (200, 401, 501)),
    Operation("config.get", "GET", "/config", _PASS),
    Operation("config.requirements", "GET", "/config/requirements", _PASS),
    Operation("config.set", "POST", "/config/value", _PASS),
    Operation("config.batch_set", "POST", "/config/batch", _PASS),
    Operation("runtime.exec", "POST", "/commands/exec", _PASS),
    Operation("feedback.submit", "POST", "/feedback", _PASS),
    # extensions, orchestrator queue, projects (codex-manager's own state)
    Operation("extensions.list", "GET", "/agents/extensions"),
    Operation("extensions.reload", "POST", "/agents/extensions/reload"),
    Operation("orchestrator.jobs.get", "GET", "/orchestrator/jobs/{jobId}"),
    Operation("orchestrator.jobs.list", "GET", f"{P}/orchestrator/jobs"),
    Operation("orchestrator.jobs.cancel", "POST", "/orchestrator/jobs/{jobId}/cancel",
              (200, 404, 409)),
    Operation("projects.list", "GET", "/projects"),
    Operation("projects.create", "POST", "/projects"),
    Operation("projects.rename", "POST", f"{P}/rename"),
    Operation("projects.delete", "DELETE", P, (200, 404)),
    Operation("projects.agent_sessions.list", "GET", f"{P}/agent-sessions", (200, 404)),
    Operation("projects.chats.move_all", "POST", f"{P}/chats/move-all"),
    Operation("projects.chats.delete_all", "POST", f"{P}/chats/delete-all"),
    # upstream's second name for the orchestrator.jobs.list route
    Operation("projects.orchestrator.jobs.list", "GET", f"{P}/orchestrator/jobs"),
    # sessions
    Operation("sessions.list", "GET", "/sessions"),
    Operation("sessions.create", "POST", "/sessions"),
    Operation("sessions.get", "GET", S, (200, 410)),
    Operation("sessions.delete", "DELETE", S, (200, 404, 410)),
    Operation("sessions.transcript.upsert", "POST", f"{S}/transcript/upsert", (200, 404, 410)),
    Operation("sessions.fork", "POST", f"{S}/fork", (200, 410, 501)),
    Operation("sessions.compact", "POST", f"{S}/compact", (200, 410, 501)),
    Operation("sessions.rollback", "POST", f"{S}/rollback", (200, 400, 409, 410, 501)),
    Operation("sessions.background_terminals.clean", "POST",
              f"{S}/background-terminals/clean", (200, 410, 501)),
    Operation("sessions.review", "POST", f"{S}/review", (200, 410, 501)),
    Operation("sessions.steer", "POST", f"{S}/turns/{{turnId}}/steer",
              (200, 400, 404, 409, 410, 501)),
    Operation("sessions.rename", "POST", f"{S}/rename"),
    Operation("sessions.project.set", "POST", f"{S}/project"),
    Operation("sessions.archive", "POST", f"{S}/archive"),
    Operation("sessions.unarchive", "POST", f"{S}/unarchive"),
    Operation("sessions.approvals.list", "GET", f"{S}/approvals", (200, 403, 410)),
    Operation("sessions.tool_input.list", "GET", f"{S}/tool-input", (200, 403, 410)),
    Operation("sessions.tool_calls.list", "GET", f"{S}/tool-calls", (200, 403, 410)),
    Operation("sessions.resume", "POST", f"{S}/resume", (200, 403, 410)),
    Operation("sessions.controls.get", "GET", f"{S}/session-controls", (200, 403, 404, 410)),
    Operation("sessions.controls.apply", "POST", f"{S}/session-controls",
              (200, 400, 403, 404, 410, 423)),
    Operation("sessions.settings.get", "GET", f"{S}/settings", (200, 403, 404, 410)),
    Operation("sessions.settings.set", "POST", f"{S}/settings", (200, 400, 403, 404, 410, 423)),
    Operation("sessions.settings.unset", "DELETE", f"{S}/settings/{{key}}",
              (200, 403, 404, 410, 423)),
    Operation("sessions.approval_policy.set", "POST", f"{S}/approval-policy",
              (200, 403, 404, 410)),
    Operation("sessions.suggest_request.enqueue", "POST", f"{S}/suggested-request/jobs",
              (202, 400, 403, 404, 409, 410, 429, 503)),
    Operation("sessions.suggest_request", "POST", f"{S}/suggested-request",
              (200, 202, 400, 403, 404, 409, 410, 429, 503)),
    Operation("sessions.suggest_request.upsert", "POST", f"{S}/suggested-request/upsert",
              (200, 400, 403, 404, 410)),
    Operation("sessions.send_message", "POST", f"{S}/messages", (202, 400, 403, 404, 410)),
    Operation("sessions.interrupt", "POST", f"{S}/interrupt", (200, 403, 404, 409, 410)),
    # answers to pending server requests
    Operation("tool_calls.respond", "POST", "/tool-calls/{requestId}/response",
              (200, 404, 409, 500)),
    Operation("tool_input.decide", "POST", "/tool-input/{requestId}/decision", (200, 404, 500)),
    Operation("approvals.decide", "POST", "/approvals/{approvalId}/decision",
              (200, 404, 409, 500)),
)

OPERATIONS: dict[str, Operation] = {row.name: row for row in _ROWS}
