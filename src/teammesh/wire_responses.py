"""Response bodies of codex-manager's HTTP API as pydantic models (the typed facade's
return types, `teammesh.client.typed`).

Every model is open (`extra="allow"`): a server may add keys, and codex app-server objects
(threads, turns, items) are passed through with more keys than listed. A model lists only
what the contract (codex-manager-wire.md §4–§5, codex-manager-routes.md §4–§7) says is
always there, so validating against it is a real check: a missing or mistyped required key
fails. Answers an operation's allow-list returns instead of raising (410 deleted, 404
`not_found`, 501 `method_not_supported`, 409 `no_active_turn`, …) have their own models.
This module holds the system and session bodies; `wire_responses_namespaces` the others.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from teammesh.wire import ApprovalPolicy, FilesystemSandbox, NetworkAccess


class Open(BaseModel):
    # defer_build: built when first used, not at import (see wire._Body).
    model_config = ConfigDict(extra="allow", defer_build=True)


# --- answers that are not the operation's success -----------------------------------------
class DeletedSession(Open):
    """410: the session was deleted (purged)."""

    status: Literal["deleted"]
    sessionId: str
    message: str
    deletedAt: str
    title: str | None = None


class ErrorEnvelope(Open):
    """`{"status":"error","code","message"}`, e.g. 501 `method_not_supported` (steer's
    409/400 carry `result` instead of `message`)."""

    status: Literal["error"]
    code: str
    message: str | None = None
    details: dict[str, Any] | None = None


class ForwardingFailed(Open):
    """500 `{"status":"error","requestId"|"approvalId"}`: answering a pending request could
    not be forwarded to the app-server (the request is pending again; retry). No `code`."""

    status: Literal["error"]
    requestId: str | None = None
    approvalId: str | None = None


SUCCESS_STATUSES = frozenset({"ok", "accepted", "unchanged", "queued", "fallback"})


class Refusal(Open):
    """Any other allowed non-success answer: `not_found`, `no_active_turn`, `locked`,
    `already_terminal`, … (never a success status, so a broken success body cannot hide
    behind this model)."""

    status: str

    @field_validator("status")
    @classmethod
    def _not_success(cls, value: str) -> str:
        if value in SUCCESS_STATUSES or value in {"deleted", "error"}:
            raise ValueError(f"{value!r} is not a refusal")
        return value


# --- system -------------------------------------------------------------------------------
class Health(Open):
    status: str
    service: str
    timestamp: str
    codex: dict[str, Any]
    auth: dict[str, Any]


class ServiceInfo(Open):
    name: str
    version: str


class Capabilities(Open):
    status: Literal["ok"]
    runtime: dict[str, Any]
    methods: dict[str, str]
    details: dict[str, Any]
    features: dict[str, bool]


class Page(Open):
    """A list answer: `{"data": [...], "nextCursor"?}`."""

    data: list[Any]
    nextCursor: str | None = None


# --- sessions -----------------------------------------------------------------------------
class ControlsTuple(Open):
    model: str | None
    approvalPolicy: ApprovalPolicy
    networkAccess: NetworkAccess
    filesystemSandbox: FilesystemSandbox
    settings: dict[str, Any]


class SessionSummary(Open):
    sessionId: str
    title: str | None
    materialized: bool
    modelProvider: str
    approvalPolicy: ApprovalPolicy
    sessionControls: ControlsTuple
    createdAt: float
    updatedAt: float
    cwd: str
    source: str
    projectId: str | None


class Turn(Open):
    id: str
    status: str
    items: list[Any]


class Thread(Open):
    id: str
    preview: str
    modelProvider: str
    createdAt: float
    updatedAt: float
    cwd: str
    source: str
    turns: list[Turn] | None = None


class TranscriptEntry(Open):
    messageId: str
    turnId: str
    role: str
    type: str
    content: str
    status: str


class _PendingRow(Open):
    """A pending server request (wire §4.10–§4.12): where it came from and when."""

    method: str
    threadId: str | None
    turnId: str | None = None
    itemId: str | None = None
    summary: str
    details: Any = None
    createdAt: str
    status: Literal["pending"]


class PendingApproval(_PendingRow):
    approvalId: str


class PendingToolCall(_PendingRow):
    requestId: str
    callId: str | None = None
    # The contract requires a tool name; an app-server that sent none still gets listed
    # (the remote-skill client skips such a row), so one odd row cannot fail the listing.
    tool: str | None
    arguments: Any


class ToolQuestion(Open):
    id: str | None
    header: str | None = None
    question: str | None = None
    options: list[dict[str, Any]] | None = None
    isOther: bool
    isSecret: bool


class PendingToolInput(_PendingRow):
    requestId: str
    questions: list[ToolQuestion]


class PendingApprovals(Open):
    data: list[PendingApproval]


class PendingToolCalls(Open):
    data: list[PendingToolCall]


class PendingToolInputs(Open):
    data: list[PendingToolInput]


class SessionCreated(Open):
    session: SessionSummary
    thread: Thread


class SessionDetail(Open):
    session: SessionSummary
    thread: Thread | None = None
    transcript: list[TranscriptEntry]


class SessionPage(Open):
    data: list[SessionSummary]
    nextCursor: str | None
    archived: bool


class SessionRenamed(Open):
    status: Literal["ok"]
    session: SessionSummary


class SessionDeleted(Open):
    status: Literal["ok"]
    sessionId: str


class TurnAccepted(Open):
    status: Literal["accepted"]
    sessionId: str
    turnId: str


class TurnInterrupted(Open):
    status: Literal["ok"]
    sessionId: str
    turnId: str


class SessionOk(Open):
    """`{"status":"ok","sessionId"}` plus the action's own keys (archive, compact, …)."""

    status: Literal["ok"]
    sessionId: str


class SessionForked(Open):
    status: Literal["ok"]
    sourceSessionId: str
    session: SessionSummary
    thread: Thread


class SessionResumed(Open):
    """resume (no `status`) and unarchive (`status: ok`)."""

    session: SessionSummary
    thread: Thread


class SessionProjectSet(Open):
    status: Literal["ok"]
    sessionId: str
    projectId: str | None
    previousProjectId: str | None


class ControlsReport(Open):
    status: Literal["ok", "unchanged"]
    sessionId: str
    controls: ControlsTuple
    defaults: ControlsTuple
    defaultsEditable: bool
    defaultLockReason: str | None


class ControlsApplied(ControlsReport):
    scope: Literal["session", "default"]
    applied: ControlsTuple
    summary: str


class SettingsReport(Open):
    """get / set / unset: `key`, `found`, `value`, `removed` appear per form."""

    status: Literal["ok", "unchanged"]
    sessionId: str
    scope: Literal["session", "default"]
    settings: dict[str, Any]


class ApprovalPolicySet(Open):
    status: Literal["ok"]
    sessionId: str
    approvalPolicy: ApprovalPolicy


class SuggestionQueued(Open):
    status: Literal["queued"]
    jobId: str
    requestKey: str
    sessionId: str


class Suggestion(Open):
    status: Literal["ok", "fallback"]
    sessionId: str
    requestKey: str
    suggestion: str


class SuggestionUpserted(Open):
    status: Literal["ok"]
    sessionId: str
    requestKey: str
    entry: dict[str, Any]


class TranscriptUpserted(Open):
    status: Literal["ok"]
    sessionId: str
    entry: TranscriptEntry
