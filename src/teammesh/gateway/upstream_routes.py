"""codex-manager's whole HTTP surface, as one table (`shared/reference/codex-manager-routes.md` §3).

app.py registers every row (rows it has no handler for answer through `unserved.py`),
openapi.py describes every row, and `GET /api/capabilities` / `GET /api` read which rows a
runtime really serves from here, so the route list, the document and the capability report
cannot drift apart.

A row says what upstream does (method, path, the client operation and its allow-list, the
app-server method behind it, the order of its checks, its body) and what this gateway does
(`serves`: the runtimes on which the row is implemented for real; an empty set means every
runtime answers upstream's 501 `method_not_supported` envelope).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from teammesh.wire import (
    ApprovalPolicyBody,
    AppsQuery,
    CapabilitiesQuery,
    CommandExecBody,
    ConfigBatchBody,
    ConfigQuery,
    ConfigValueBody,
    FeedbackBody,
    ListQuery,
    LoginCancelBody,
    LoginStartBody,
    McpOauthLoginBody,
    MoveAllBody,
    OrchestratorJobsQuery,
    ProjectBody,
    RemoteSkillBody,
    ResumeBody,
    ReviewBody,
    RollbackBody,
    SessionControlsBody,
    SessionProjectBody,
    SessionSettingsBody,
    SettingsQuery,
    SettingsUnsetQuery,
    SkillsConfigBody,
    SkillsQuery,
    SteerBody,
    SuggestRequestBody,
    SuggestUpsertBody,
    TranscriptUpsertBody,
)

RUNTIMES = frozenset({"playbook", "llm", "codex"})
NONE: frozenset[str] = frozenset()

# What a row's 501 says it lacks:
#   runtime — an app-server method (the session's runtime, or the default runtime, lacks it);
#   state   — server-side state codex-manager keeps that this gateway does not implement.
Kind = Literal["served", "runtime", "state"]
# Upstream's guards, in the order a row runs them: `body` (query and body schema, 400),
# `gone` (deleted session, 410), `missing` (unknown session, 404).
Check = Literal["body", "gone", "missing"]


@dataclass(frozen=True)
class UpstreamRoute:
    number: int  # the row number in the reference's route index (§3)
    method: str
    path: str  # upstream's path, camelCase parameters: /api/sessions/{sessionId}/fork
    operation: str  # the Python client's operation name
    allow: tuple[int, ...]  # statuses that client returns as values instead of raising
    app_server: str | None  # the JSON-RPC method behind it; None: none (or state only)
    kind: Kind
    summary: str
    checks: tuple[Check, ...] = ("body",)
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    serves: frozenset[str] = NONE  # runtimes on which this row is implemented for real
    why: str = ""  # why a 501 row is not implemented (docs, /api)
    # A security refusal, not a gap: never forwarded on any runtime; `why` says the policy.
    refused: bool = False

    @property
    def session_scoped(self) -> bool:
        return "{sessionId}" in self.path

    def served_on(self, runtime: str) -> bool:
        return runtime in self.serves

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


_THREAD: tuple[Check, ...] = ("gone", "body", "missing")  # §7.1: the call finds the thread
_STATE: tuple[Check, ...] = ("gone", "missing", "body")  # §7.4: G410 → G404 → body
_QUERY_FIRST: tuple[Check, ...] = ("body", "gone", "missing")  # GET/DELETE settings, resume

_NO_METHOD = "no app-server method behind it on playbook/llm; codex: not mapped yet"
# Why a row is refused on every runtime (docs/security.md "What the codex pass-through
# forwards"). codex's config, MCP servers, skills and account are the operator's: a client
# that could write them would change what every session runs with.
_OPERATOR = "operator settings are never taken from a client"
_OPENAI = ("it would reach OpenAI's servers (the gateway runs offline; the account is the "
           "operator's)")
_EXEC = "it runs a host command outside any turn, past the session ceiling and approvals"
_CODEX_ONLY = "playbook/llm have no such app-server method; codex forwards it"
CODEX = frozenset({"codex"})  # forwarded to codex app-server (surface.passthrough_handler)
IN_PROCESS = frozenset({"playbook", "llm"})  # the in-process threads (session_actions.py)
_IN_PROCESS_NO = "playbook/llm: no such app-server method; codex forwards it"
_STEER_WHY = "llm: pydantic-ai takes no input in the middle of a run"
# codex forwards these on its own thread id (codex.py; tests/codex/test_codex_session_actions)
ALL_THREADS = frozenset({"playbook", "llm", "codex"})
_QUEUE = "needs codex-manager's orchestrator queue (health: orchestratorQueue disabled)"
_EXT = "needs codex-manager's agent-extension loader"

S = "/api/sessions/{sessionId}"
P = "/api/projects/{projectId}"


Body = type[BaseModel] | None


def _rt(n: int, method: str, path: str, op: str, rpc: str, summary: str,
        allow: tuple[int, ...] = (200, 501), *, body: Body = None,
        query: Body = None, serves: frozenset[str] = NONE, why: str = "",
        refused: str = "") -> UpstreamRoute:
    """A runtime pass-through row (§4): validate, one app-server call, answer. `refused`:
    the policy that keeps it a 501 on every runtime (codex included)."""
    if refused:
        why = f"refused by policy: {refused}"
    elif not why:
        why = _CODEX_ONLY if serves == CODEX else _NO_METHOD
    return UpstreamRoute(n, method, path, op, allow, rpc, "runtime", summary,
                         body=body, query=query, serves=serves, why=why,
                         refused=bool(refused))


def _thread(n: int, method: str, path: str, op: str, rpc: str, summary: str,
            allow: tuple[int, ...], *, checks: tuple[Check, ...] = _THREAD,
            body: Body = None, serves: frozenset[str] = NONE,
            why: str = _NO_METHOD) -> UpstreamRoute:
    """A session action that is one app-server call on the session's thread (§7.1, §7.3);
    `serves`: the runtimes gateway/session_actions.py implements it on."""
    return UpstreamRoute(n, method, path, op, allow, rpc, "runtime", summary,
                         checks=checks, body=body, why=why, serves=serves)


def _state(n: int, method: str, path: str, op: str, summary: str, why: str = "",
           allow: tuple[int, ...] = (), *, checks: tuple[Check, ...] = ("body",),
           body: Body = None, query: Body = None,
           serves: frozenset[str] = NONE) -> UpstreamRoute:
    """A row whose meaning is state codex-manager keeps itself (`serves`: implemented
    here, in the gateway store)."""
    return UpstreamRoute(n, method, path, op, allow, None, "state", summary,
                         checks=checks, body=body, query=query, why=why, serves=serves)


def _served(n: int, method: str, path: str, op: str, summary: str,
            allow: tuple[int, ...] = (), app_server: str | None = None) -> UpstreamRoute:
    return UpstreamRoute(n, method, path, op, allow, app_server, "served", summary,
                         serves=RUNTIMES)


ROUTES: tuple[UpstreamRoute, ...] = (
    _served(2, "GET", "/api/health", "system.health", "Health"),
    _served(3, "GET", "/api", "system.info", "Service info and the routes served"),
    UpstreamRoute(4, "GET", "/api/capabilities", "system.capabilities", (), None, "served",
                  "Which app-server methods the default runtime answers",
                  query=CapabilitiesQuery, serves=RUNTIMES),
    # --- runtime pass-through (§4) -------------------------------------------------------
    _rt(5, "GET", "/api/features/experimental", "system.features.experimental",
        "experimentalFeature/list", "Experimental features", query=ListQuery, serves=CODEX),
    _rt(6, "GET", "/api/collaboration/modes", "system.collaboration.modes",
        "collaborationMode/list", "Collaboration modes", query=ListQuery, serves=CODEX),
    _rt(7, "GET", "/api/models", "models.list", "model/list", "Models", query=ListQuery,
        serves=CODEX),
    _rt(8, "GET", "/api/mcp/servers", "mcp.servers.list", "mcpServerStatus/list",
        "MCP server status", query=ListQuery, serves=CODEX),
    _rt(9, "GET", "/api/apps", "apps.list", "app/list", "Apps", query=AppsQuery,
        serves=CODEX),
    _rt(10, "GET", "/api/skills", "skills.list", "skills/list", "Skills", query=SkillsQuery,
        serves=CODEX),
    _rt(11, "POST", "/api/skills/config", "skills.config.set", "skills/config/write",
        "Enable or disable a skill", body=SkillsConfigBody,
        refused=f"{_OPERATOR} (the skills codex loads)"),
    _rt(12, "GET", "/api/skills/remote", "skills.remote.get", "skills/remote/read",
        "Remote skills", allow=(200, 500, 501),
        why="playbook/llm have no such method; codex: app-server 0.169 has no "
            "skills/remote/read (unknown variant)"),
    _rt(13, "POST", "/api/skills/remote", "skills.remote.set", "skills/remote/write",
        "Write a remote skill", body=RemoteSkillBody,
        refused=f"{_OPERATOR} (the skills codex loads), and {_OPENAI}"),
    _rt(14, "POST", "/api/mcp/reload", "mcp.reload", "config/mcpServer/reload",
        "Reload MCP servers", refused=f"{_OPERATOR} (the MCP servers codex starts)"),
    _rt(15, "POST", "/api/mcp/servers/{serverName}/oauth/login", "mcp.oauth.login",
        "mcpServer/oauth/login", "Start an MCP OAuth login", body=McpOauthLoginBody,
        refused=f"{_OPERATOR} (MCP credentials), and it reaches the MCP server's host"),
    _rt(16, "GET", "/api/account", "account.get", "account/read", "Account",
        allow=(200, 401, 501), serves=CODEX),
    _rt(17, "POST", "/api/account/login/start", "account.login.start", "account/login/start",
        "Start an account login", allow=(200, 400, 501), body=LoginStartBody,
        refused=_OPENAI),
    _rt(18, "POST", "/api/account/login/cancel", "account.login.cancel",
        "account/login/cancel", "Cancel an account login", allow=(200, 404, 501),
        body=LoginCancelBody, refused=_OPENAI),
    _rt(19, "POST", "/api/account/logout", "account.logout", "account/logout", "Log out",
        refused=_OPENAI),
    _rt(20, "GET", "/api/account/rate-limits", "account.rate_limits",
        "account/rateLimits/read", "Account rate limits", allow=(200, 401, 501),
        serves=CODEX),
    _rt(21, "GET", "/api/config", "config.get", "config/read", "Configuration",
        query=ConfigQuery, serves=CODEX),
    _rt(22, "GET", "/api/config/requirements", "config.requirements",
        "configRequirements/read", "Configuration requirements", serves=CODEX),
    _rt(23, "POST", "/api/config/value", "config.set", "config/value/write",
        "Write one configuration value", body=ConfigValueBody,
        refused=f"{_OPERATOR} (codex's config.toml)"),
    _rt(24, "POST", "/api/config/batch", "config.batch_set", "config/batchWrite",
        "Write configuration values", body=ConfigBatchBody,
        refused=f"{_OPERATOR} (codex's config.toml)"),
    _rt(25, "POST", "/api/commands/exec", "runtime.exec", "command/exec",
        "Run a command", body=CommandExecBody, refused=_EXEC),
    _rt(26, "POST", "/api/feedback", "feedback.submit", "feedback/upload",
        "Upload feedback", body=FeedbackBody, refused=f"{_OPENAI}, with logs"),
    # --- extensions and the orchestrator queue (§5) ----------------------------------------
    _state(27, "GET", "/api/agents/extensions", "extensions.list", "Agent extensions", _EXT),
    _state(28, "POST", "/api/agents/extensions/reload", "extensions.reload",
           "Reload agent extensions", _EXT),
    _state(29, "GET", "/api/orchestrator/jobs/{jobId}", "orchestrator.jobs.get",
           "One orchestrator job", _QUEUE),
    _state(30, "GET", f"{P}/orchestrator/jobs", "orchestrator.jobs.list",
           "A project's orchestrator jobs", _QUEUE, query=OrchestratorJobsQuery),
    _state(31, "POST", "/api/orchestrator/jobs/{jobId}/cancel", "orchestrator.jobs.cancel",
           "Cancel an orchestrator job", _QUEUE, allow=(200, 404, 409)),
    # --- projects (§6): gateway/projects.py, project_routes.py ------------------------------
    _state(32, "GET", "/api/projects", "projects.list", "Projects", serves=RUNTIMES),
    _state(33, "POST", "/api/projects", "projects.create", "Create a project",
           body=ProjectBody, serves=RUNTIMES),
    _state(34, "POST", f"{P}/rename", "projects.rename", "Rename a project",
           body=ProjectBody, serves=RUNTIMES),
    _state(35, "DELETE", P, "projects.delete", "Delete a project", allow=(200, 404),
           serves=RUNTIMES),
    _state(36, "GET", f"{P}/agent-sessions", "projects.agent_sessions.list",
           "A project's agent sessions", allow=(200, 404), serves=RUNTIMES),
    _state(37, "POST", f"{P}/chats/move-all", "projects.chats.move_all",
           "Move a project's chats", body=MoveAllBody, serves=RUNTIMES),
    _state(38, "POST", f"{P}/chats/delete-all", "projects.chats.delete_all",
           "Delete a project's chats", serves=RUNTIMES),
    # --- sessions (wire §4 and §7 here) ----------------------------------------------------
    _served(39, "GET", "/api/sessions", "sessions.list", "List sessions"),
    _served(40, "POST", "/api/sessions", "sessions.create", "Create a session",
            app_server="thread/start"),
    _served(41, "GET", S, "sessions.get", "Session detail", allow=(200, 410)),
    _served(42, "DELETE", S, "sessions.delete", "Delete a session", allow=(200, 404, 410)),
    _state(43, "POST", f"{S}/transcript/upsert", "sessions.transcript.upsert",
           "Upsert a supplemental transcript row", allow=(200, 404, 410),
           checks=("gone", "missing", "body"), body=TranscriptUpsertBody,
           serves=RUNTIMES),
    _thread(44, "POST", f"{S}/fork", "sessions.fork", "thread/fork", "Fork the thread",
            (200, 410, 501), serves=ALL_THREADS),
    _thread(45, "POST", f"{S}/compact", "sessions.compact", "thread/compact/start",
            "Compact the thread", (200, 410, 501), serves=CODEX, why=_IN_PROCESS_NO),
    _thread(46, "POST", f"{S}/rollback", "sessions.rollback", "thread/rollback",
            "Roll back turns", (200, 400, 409, 410, 501), body=RollbackBody,
            serves=IN_PROCESS,
            why="codex: app-server 0.169 has no thread/rollback (unknown variant)"),
    _thread(47, "POST", f"{S}/background-terminals/clean",
            "sessions.background_terminals.clean", "thread/backgroundTerminals/clean",
            "Clean background terminals", (200, 410, 501), serves=CODEX,
            why="playbook/llm run no terminals; codex forwards it"),
    _thread(48, "POST", f"{S}/review", "sessions.review", "review/start", "Start a review",
            (200, 410, 501), body=ReviewBody, serves=CODEX, why=_IN_PROCESS_NO),
    _thread(49, "POST", f"{S}/turns/{{turnId}}/steer", "sessions.steer", "turn/steer",
            "Steer the running turn", (200, 400, 404, 409, 410, 501), body=SteerBody,
            serves=frozenset({"playbook", "codex"}), why=_STEER_WHY),
    _served(50, "POST", f"{S}/rename", "sessions.rename", "Rename a session"),
    _state(51, "POST", f"{S}/project", "sessions.project.set", "Assign a project",
           checks=("gone", "body", "missing"), body=SessionProjectBody, serves=RUNTIMES),
    _thread(52, "POST", f"{S}/archive", "sessions.archive", "thread/archive",
            "Archive the thread", (), serves=ALL_THREADS),
    _thread(53, "POST", f"{S}/unarchive", "sessions.unarchive", "thread/unarchive",
            "Unarchive the thread", (), serves=ALL_THREADS),
    _served(54, "GET", f"{S}/approvals", "sessions.approvals.list", "Pending approvals",
            allow=(200, 403, 410)),
    _served(55, "GET", f"{S}/tool-input", "sessions.tool_input.list", "Pending tool input",
            allow=(200, 403, 410)),
    _served(56, "GET", f"{S}/tool-calls", "sessions.tool_calls.list",
            "Pending dynamic tool calls", allow=(200, 403, 410)),
    _thread(57, "POST", f"{S}/resume", "sessions.resume", "thread/resume",
            "Resume the thread (replace its dynamic tools)", (200, 403, 410),
            checks=_QUERY_FIRST, body=ResumeBody, serves=IN_PROCESS,
            why="codex: app-server 0.169 takes dynamic tools only at thread/start"),
    _state(58, "GET", f"{S}/session-controls", "sessions.controls.get", "Session controls",
           allow=(200, 403, 404, 410), checks=_STATE, serves=RUNTIMES),
    _state(59, "POST", f"{S}/session-controls", "sessions.controls.apply",
           "Apply session controls", allow=(200, 400, 403, 404, 410, 423), checks=_STATE,
           body=SessionControlsBody, serves=RUNTIMES),
    _state(60, "GET", f"{S}/settings", "sessions.settings.get", "Session settings",
           allow=(200, 403, 404, 410), checks=_QUERY_FIRST, query=SettingsQuery,
           serves=RUNTIMES),
    _state(61, "POST", f"{S}/settings", "sessions.settings.set", "Set session settings",
           allow=(200, 400, 403, 404, 410, 423), checks=_STATE, body=SessionSettingsBody,
           serves=RUNTIMES),
    _state(62, "DELETE", f"{S}/settings/{{key}}", "sessions.settings.unset",
           "Remove a session setting", allow=(200, 403, 404, 410, 423), checks=_QUERY_FIRST,
           query=SettingsUnsetQuery, serves=RUNTIMES),
    _state(63, "POST", f"{S}/approval-policy", "sessions.approval_policy.set",
           "Set the approval policy", allow=(200, 403, 404, 410), checks=_STATE,
           body=ApprovalPolicyBody, serves=RUNTIMES),
    _state(64, "POST", f"{S}/suggested-request/jobs", "sessions.suggest_request.enqueue",
           "Queue a suggested-request job", _QUEUE,
           allow=(202, 400, 403, 404, 409, 410, 429, 503), checks=_STATE,
           body=SuggestRequestBody),
    _state(65, "POST", f"{S}/suggested-request", "sessions.suggest_request",
           "Suggest the next request", _QUEUE,
           allow=(200, 202, 400, 403, 404, 409, 410, 429, 503), checks=_STATE,
           body=SuggestRequestBody),
    _state(66, "POST", f"{S}/suggested-request/upsert", "sessions.suggest_request.upsert",
           "Report a suggested request", allow=(200, 400, 403, 404, 410),
           checks=_STATE, body=SuggestUpsertBody, serves=RUNTIMES),
    _served(67, "POST", f"{S}/messages", "sessions.send_message", "Start a turn",
            allow=(202, 400, 403, 404, 410), app_server="turn/start"),
    _served(68, "POST", f"{S}/interrupt", "sessions.interrupt", "Interrupt the active turn",
            allow=(200, 403, 404, 409, 410), app_server="turn/interrupt"),
    _served(69, "POST", "/api/tool-calls/{requestId}/response", "tool_calls.respond",
            "Answer a dynamic tool call", allow=(200, 404, 409, 500)),
    _served(70, "POST", "/api/tool-input/{requestId}/decision", "tool_input.decide",
            "Answer a tool user-input request", allow=(200, 404, 500)),
    _served(71, "POST", "/api/approvals/{approvalId}/decision", "approvals.decide",
            "Decide an approval", allow=(200, 404, 409, 500)),
)

BY_KEY: dict[tuple[str, str], UpstreamRoute] = {r.key: r for r in ROUTES}

_PARAM = re.compile(r"\{([a-z]+(?:_[a-z]+)*)\}")


def upstream_path(starlette_path: str) -> str:
    """`/api/sessions/{session_id}` (app.py's spelling) → `/api/sessions/{sessionId}`."""

    def camel(match: re.Match[str]) -> str:
        head, *rest = match.group(1).split("_")
        return "{" + head + "".join(part.title() for part in rest) + "}"

    return _PARAM.sub(camel, starlette_path)


def route_for(method: str, starlette_path: str) -> UpstreamRoute | None:
    return BY_KEY.get((method, upstream_path(starlette_path)))


def status_on(route: UpstreamRoute, runtime: str) -> Literal["implemented", "501"]:
    return "implemented" if route.served_on(runtime) else "501"


def coverage_table() -> str:
    """The route → runtime coverage table of docs/gateway.md (a test keeps the two equal)."""
    lines = ["| # | route | playbook | llm | codex | why 501 |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in ROUTES:
        cells = ["implemented" if r.served_on(rt) else "501" for rt in ("playbook", "llm", "codex")]
        why = "" if r.serves == RUNTIMES else r.why
        if r.kind == "runtime" and why:
            why = f"`{r.app_server}`: {why}"
        lines.append(f"| {r.number} | {r.method} `{r.path}` | {' | '.join(cells)} | {why} |")
    return "\n".join(lines)
