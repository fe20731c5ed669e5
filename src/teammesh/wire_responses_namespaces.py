"""Response bodies of the namespaces besides `system` and `sessions` (those are in
`wire_responses`): the runtime pass-through rows, agent extensions, the orchestrator queue,
projects and the answers to pending requests.

Two kinds of model, for two kinds of source:
- codex-manager's own state (projects, extensions, jobs, decisions): the keys
  codex-manager-routes.md §5–§6 and codex-manager-wire.md §4.10–§4.12 list, required.
- pass-through rows (routes §4), whose body is (or wraps, as `{"status":"ok","result"}`)
  the codex app-server's result: permissive models. They name the fields upstream's
  app-server protocol documents, but only the ones every version answers are required,
  so a newer app-server's answer still validates; the rest are optional and any extra key
  is kept (`extra="allow"`, as every model here).
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from teammesh.wire_responses import Open

T = TypeVar("T")


# --- pass-through rows: the app-server's result, verbatim ----------------------------------
class ExperimentalFeature(Open):
    name: str
    stage: str | None = None
    displayName: str | None = None
    description: str | None = None
    enabled: bool | None = None
    defaultEnabled: bool | None = None


class ExperimentalFeaturePage(Open):
    data: list[ExperimentalFeature]
    nextCursor: str | None = None


class CollaborationMode(Open):
    name: str | None = None
    mode: str | None = None
    model: str | None = None
    reasoningEffort: str | None = None


class CollaborationModePage(Open):
    data: list[CollaborationMode]
    nextCursor: str | None = None


class ModelInfo(Open):
    id: str
    model: str | None = None
    displayName: str | None = None
    description: str | None = None
    supportedReasoningEfforts: list[Any] | None = None
    defaultReasoningEffort: str | None = None
    isDefault: bool | None = None


class ModelPage(Open):
    data: list[ModelInfo]
    nextCursor: str | None = None


class McpServerStatus(Open):
    name: str
    tools: dict[str, Any] | None = None
    resources: list[Any] | None = None
    resourceTemplates: list[Any] | None = None
    authStatus: str | None = None


class McpServerPage(Open):
    data: list[McpServerStatus]
    nextCursor: str | None = None


class AppInfo(Open):
    id: str
    name: str | None = None
    description: str | None = None
    logoUrl: str | None = None
    installUrl: str | None = None
    isAccessible: bool | None = None


class AppPage(Open):
    data: list[AppInfo]
    nextCursor: str | None = None


class SkillInfo(Open):
    name: str
    path: str
    description: str | None = None
    enabled: bool | None = None


class SkillsOfCwd(Open):
    cwd: str
    skills: list[SkillInfo]
    errors: list[Any] | None = None


class SkillsPage(Open):
    data: list[SkillsOfCwd]
    nextCursor: str | None = None


class AccountState(Open):
    """`account/read`: `account` is null when nobody is logged in."""

    account: dict[str, Any] | None
    requiresOpenaiAuth: bool


class RateLimits(Open):
    rateLimits: dict[str, Any]


class ConfigRead(Open):
    config: dict[str, Any]
    origins: dict[str, Any] | None = None
    layers: list[Any] | None = None


class ConfigRequirements(Open):
    requirements: dict[str, Any] | None


# --- pass-through rows: `{"status":"ok","result": <app-server result>}` ---------------------
class OkResult(Open, Generic[T]):
    status: Literal["ok"]
    result: T


class EmptyResult(Open):
    """A result upstream documents no field of (reload, logout, skills writes, …)."""


class OAuthLoginStarted(Open):
    authorizationUrl: str


class LoginStarted(Open):
    type: str
    loginId: str | None = None
    authUrl: str | None = None


class ConfigWritten(Open):
    status: str | None = None
    version: str | None = None
    filePath: str | None = None
    overriddenMetadata: Any = None


class CommandRan(Open):
    exitCode: int
    stdout: str
    stderr: str


class FeedbackUploaded(Open):
    threadId: str | None = None


# --- agent extensions (routes §5) ------------------------------------------------------------
class ExtensionModule(Open):
    name: str
    version: str | None = None
    agentId: str | None = None
    events: list[Any] | None = None


class ExtensionsSnapshot(Open):
    status: Literal["ok"]
    snapshotVersion: Any
    loadedAt: str | None
    modules: list[ExtensionModule]


class ExtensionsReloaded(ExtensionsSnapshot):
    reloadId: str
    loadedCount: int
    failedCount: int


# --- orchestrator queue (routes §5) ----------------------------------------------------------
class Job(Open):
    id: str
    type: str
    projectId: str
    sourceSessionId: str | None
    priority: Literal["interactive", "background"]
    state: Literal["queued", "running", "completed", "failed", "canceled"]
    payload: Any
    result: Any = None
    error: Any = None
    attempts: int
    maxAttempts: int
    createdAt: str


class JobAnswer(Open):
    """get and cancel: `{"status":"ok","job"}` (cancel's 409 `already_terminal` is a
    `Refusal` carrying `job`)."""

    status: Literal["ok"]
    job: Job


class JobPage(Open):
    data: list[Job]


# --- projects (routes §6) ----------------------------------------------------------------------
class ProjectSummary(Open):
    projectId: str
    name: str
    workingDirectory: str | None
    createdAt: str
    updatedAt: str


class ProjectPage(Open):
    data: list[ProjectSummary]


class ProjectCreated(Open):
    status: Literal["ok"]
    project: ProjectSummary
    orchestrationSession: Any = None


class ProjectRenamed(Open):
    status: Literal["ok"]
    project: ProjectSummary


class ProjectDeleted(Open):
    status: Literal["ok"]
    projectId: str
    unassignedSessionCount: int


class AgentSession(Open):
    agent: str
    sessionId: str
    systemOwned: bool


class AgentSessions(Open):
    status: Literal["ok"]
    projectId: str
    data: list[AgentSession]


class ChatsMoved(Open):
    status: Literal["ok"]
    projectId: str
    destination: Literal["unassigned", "archive"]
    movedSessionCount: int
    archivedSessionCount: int
    alreadyArchivedSessionCount: int


class ChatsDeleted(Open):
    status: Literal["ok"]
    projectId: str
    deletedSessionCount: int
    skippedSessionCount: int


# --- answers to pending requests (wire §4.10–§4.12) ------------------------------------------
class RequestAnswered(Open):
    """tool_calls.respond and tool_input.decide: forwarded to the app-server."""

    status: Literal["ok"]
    requestId: str
    threadId: str


class ApprovalDecided(Open):
    status: Literal["ok"]
    approvalId: str
    threadId: str
