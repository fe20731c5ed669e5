"""The codex-manager wire, declared once.

Both the gateway (which serves it) and the client (which speaks it) import these names;
nothing else re-declares a wire shape. Facts come from
`shared/reference/codex-manager-wire.md` (section numbers below refer to it).

Request bodies are pydantic models: unknown keys are dropped (upstream's zod schemas strip
rather than reject) and every rule upstream enforces is enforced here, so a bad body is a
structured 400, never a 500.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    RootModel,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
)

# --- enumerations (§3) -------------------------------------------------------------------

ApprovalPolicy = Literal["untrusted", "on-failure", "on-request", "never"]
NetworkAccess = Literal["restricted", "enabled"]
FilesystemSandbox = Literal["read-only", "workspace-write", "danger-full-access"]
Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
Decision = Literal["accept", "decline", "cancel"]
ApprovalScope = Literal["turn", "session"]
TranscriptRole = Literal["user", "assistant", "system"]
TranscriptStatus = Literal["streaming", "complete", "canceled", "error"]
TurnStatus = Literal["inProgress", "completed", "interrupted", "failed"]

# What a client treats as "the turn is over" (case-insensitive).
TERMINAL_TURN_STATUSES = frozenset(
    {"completed", "complete", "failed", "error", "interrupted", "canceled", "cancelled"}
)


def is_terminal_status(status: object) -> bool:
    return isinstance(status, str) and status.strip().lower() in TERMINAL_TURN_STATUSES


DEFAULT_API_BASE = "http://127.0.0.1:3001"
DEFAULT_API_PREFIX = "/api"
MAX_DYNAMIC_TOOLS = 128
MAX_BODY_BYTES = 1024 * 1024

NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Body(BaseModel):
    # Unknown request keys are silently dropped, as upstream does.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- dynamic tools (§7.1) ----------------------------------------------------------------


class DynamicToolSpec(_Body):
    name: NonBlank
    description: NonBlank
    inputSchema: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "inputSchema": self.inputSchema}


DynamicToolList = Annotated[list[DynamicToolSpec], Field(max_length=MAX_DYNAMIC_TOOLS)]


# --- request bodies (§4) -----------------------------------------------------------------


class CreateSessionBody(_Body):
    cwd: Annotated[str, StringConstraints(min_length=1)] | None = None
    model: str | None = None
    approvalPolicy: ApprovalPolicy | None = None
    networkAccess: NetworkAccess | None = None
    filesystemSandbox: FilesystemSandbox | None = None
    dynamicTools: DynamicToolList | None = None

    @field_validator("model")
    @classmethod
    def _blank_model_is_default(cls, value: str | None) -> str | None:
        # A blank model means "the default" upstream, not an error.
        if value is None:
            return None
        value = value.strip()
        return value or None


class RenameBody(_Body):
    title: Title


class SendMessageBody(_Body):
    text: NonBlank
    model: NonBlank | None = None
    effort: Effort | None = None
    approvalPolicy: ApprovalPolicy | None = None
    networkAccess: NetworkAccess | None = None
    filesystemSandbox: FilesystemSandbox | None = None
    dynamicTools: DynamicToolList | None = None


class ListSessionsQuery(_Body):
    """`GET /api/sessions` query (§4.4); query strings arrive as text, pydantic coerces."""

    archived: bool = False
    cursor: str | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 100
    includeSystemOwned: bool = False

    @field_validator("archived", "includeSystemOwned", mode="before")
    @classmethod
    def _literal_flag(cls, value: Any) -> Any:
        # Upstream's query booleans are the strings "true"/"false" only (routes §1.1):
        # "yes" or "1" is a 400, not a silent true.
        if isinstance(value, str) and value not in ("true", "false"):
            raise ValueError('must be "true" or "false"')
        return value


class InterruptBody(_Body):
    turnId: Annotated[str, StringConstraints(min_length=1)] | None = None


class InputTextItem(_Body):
    type: Literal["inputText"]
    text: str


class InputImageItem(_Body):
    type: Literal["inputImage"]
    imageUrl: Annotated[str, StringConstraints(min_length=1)]


ContentItem = Annotated[InputTextItem | InputImageItem, Field(discriminator="type")]


class ToolCallResponseBody(_Body):
    """`POST /api/tool-calls/{requestId}/response` (§4.11)."""

    response: Any = None
    success: bool | None = None
    contentItems: list[ContentItem] | None = None
    text: str | None = None
    _has_response: bool = PrivateAttr(default=False)

    def forwarded_result(self) -> Any:
        """The JSON-RPC `result` this body forwards to the runtime."""
        if self._has_response:
            return self.response
        if self.contentItems is not None:
            items = [item.model_dump() for item in self.contentItems]
        elif self.text is not None:
            items = [{"type": "inputText", "text": self.text}]
        else:
            items = []
        return {"success": True if self.success is None else self.success, "contentItems": items}

    @classmethod
    def parse(cls, raw: Any) -> ToolCallResponseBody:
        body = cls.model_validate(raw if raw is not None else {})
        # `response: null` counts as present: it is forwarded verbatim.
        body._has_response = isinstance(raw, dict) and "response" in raw
        return body


class ApprovalDecisionBody(_Body):
    decision: Decision
    scope: ApprovalScope | None = None


class ToolInputDecisionBody(_Body):
    decision: Decision
    answers: dict[str, Any] | None = None
    response: Any = None


def reported_success(result: Any) -> bool:
    """`success` as reported in `tool_call_resolved`: the forwarded object's boolean
    `success`, default true."""
    if isinstance(result, dict) and isinstance(result.get("success"), bool):
        return bool(result["success"])
    return True


# --- websocket (§6) ----------------------------------------------------------------------

StreamCommandType = Literal["subscribe", "unsubscribe", "ping"]


def envelope(event_type: str, thread_id: str | None, payload: Any) -> dict[str, Any]:
    """A server → client event frame: exactly these three keys."""
    return {"type": event_type, "threadId": thread_id, "payload": payload}


_ACRONYM_BOUNDARY = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_BOUNDARY = re.compile(r"([a-z0-9])([A-Z])")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_REPEATED_UNDERSCORE = re.compile(r"_+")


def _normalise_segment(segment: str) -> str:
    segment = segment.strip()
    if not segment:
        return "unknown"
    segment = _NON_ALNUM.sub("_", segment)
    segment = _ACRONYM_BOUNDARY.sub(r"\1_\2", segment)
    segment = _CAMEL_BOUNDARY.sub(r"\1_\2", segment)
    segment = _REPEATED_UNDERSCORE.sub("_", segment).strip("_")
    return segment.lower()


def normalize_method(method: str) -> str:
    """`item/agentMessage/delta` → `item.agent_message.delta` (§6.5)."""
    parts = [p for p in (_normalise_segment(s) for s in method.split("/")) if p]
    return ".".join(parts) or "unknown"


def notification_event_type(method: str) -> str:
    return f"app_server.{normalize_method(method)}"


def request_event_type(method: str) -> str:
    return f"app_server.request.{normalize_method(method)}"


TOOL_CALL_SIGNAL = request_event_type("item/tool/call")  # app_server.request.item.tool.call
TURN_COMPLETED_SIGNAL = notification_event_type("turn/completed")
TURN_STARTED_SIGNAL = notification_event_type("turn/started")

# Notification aliases published after the `app_server.*` signal (§6.5 C).
NOTIFICATION_ALIASES: dict[str, str] = {
    "turn/plan/updated": "turn_plan_updated",
    "turn/diff/updated": "turn_diff_updated",
    "thread/tokenUsage/updated": "thread_token_usage_updated",
    "app/list/updated": "app_list_updated",
    "mcpServer/oauthLogin/completed": "mcp_oauth_completed",
    "account/updated": "account_updated",
    "account/login/completed": "account_login_completed",
    "account/rateLimits/updated": "account_rate_limits_updated",
}
BROADCAST_ALIASES = frozenset(
    {
        "app_list_updated",
        "mcp_oauth_completed",
        "account_updated",
        "account_login_completed",
        "account_rate_limits_updated",
        "session_deleted",
    }
)

APPROVAL_METHODS = frozenset(
    {
        "item/commandExecution/requestApproval",
        "item/fileChange/requestApproval",
        "execCommandApproval",
        "applyPatchApproval",
    }
)
TOOL_INPUT_METHODS = frozenset({"item/tool/requestUserInput", "tool/requestUserInput"})
TOOL_CALL_METHOD = "item/tool/call"


# --- the rest of upstream's surface (routes §4–§7 of codex-manager-routes.md) ------------
#
# Query strings: booleans are the literal strings "true"/"false" (anything else is a 400),
# `limit` an integer 1–200 (default 100), `cursor` a non-empty string.

QueryFlag = Literal["true", "false"]
ListLimit = Annotated[int, Field(ge=1, le=200)]
SettingsScope = Literal["session", "default"]
SettingsKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=240)]
Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Source = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
PositiveInt = Annotated[StrictInt, Field(gt=0)]


class CapabilitiesQuery(_Body):
    refresh: QueryFlag = "false"


class ListQuery(_Body):
    cursor: NonBlank | None = None
    limit: ListLimit = 100


class AppsQuery(ListQuery):
    threadId: NonBlank | None = None
    forceRefetch: QueryFlag = "false"


class SkillsQuery(_Body):
    forceReload: QueryFlag = "false"
    cwd: NonBlank | None = None


class ConfigQuery(_Body):
    cwd: NonBlank | None = None
    includeLayers: QueryFlag = "false"


class SkillsConfigBody(_Body):
    path: NonBlank
    enabled: StrictBool


class RemoteSkillBody(_Body):
    hazelnutId: NonBlank
    isPreload: StrictBool


class McpOauthLoginBody(_Body):
    scopes: list[NonBlank] | None = None
    timeoutSecs: PositiveInt | None = None


class ApiKeyLogin(_Body):
    type: Literal["apiKey"]
    apiKey: NonBlank


class ChatgptLogin(_Body):
    type: Literal["chatgpt"]


class ChatgptTokensLogin(_Body):
    type: Literal["chatgptAuthTokens"]
    accessToken: NonBlank
    chatgptAccountId: NonBlank
    chatgptPlanType: NonBlank | None = None


class LoginStartBody(
    RootModel[Annotated[ApiKeyLogin | ChatgptLogin | ChatgptTokensLogin,
                        Field(discriminator="type")]]
):
    """`POST /api/account/login/start`: one of three shapes, by `type`."""


class LoginCancelBody(_Body):
    loginId: NonBlank


MergeStrategy = Literal["replace", "upsert"]


class ConfigEdit(_Body):
    keyPath: NonBlank
    mergeStrategy: MergeStrategy
    value: Any


class ConfigValueBody(ConfigEdit):
    expectedVersion: NonBlank | None = None
    filePath: NonBlank | None = None


class ConfigBatchBody(_Body):
    edits: Annotated[list[ConfigEdit], Field(min_length=1)]
    expectedVersion: NonBlank | None = None
    filePath: NonBlank | None = None


class CommandExecBody(_Body):
    command: Annotated[list[NonBlank], Field(min_length=1)]
    cwd: NonBlank | None = None
    timeoutMs: PositiveInt | None = None


class FeedbackBody(_Body):
    classification: NonBlank
    includeLogs: StrictBool
    reason: NonBlank | None = None
    threadId: NonBlank | None = None


ProjectName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=120)]
WorkingDirectory = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                    max_length=2000)]


class ProjectBody(_Body):
    name: ProjectName
    workingDirectory: WorkingDirectory | None = None


class MoveAllBody(_Body):
    destination: Literal["unassigned", "archive"]


class OrchestratorJobsQuery(_Body):
    state: Literal["queued", "running", "completed", "failed", "canceled"] | None = None


class TranscriptUpsertBody(_Body):
    messageId: NonBlank
    turnId: NonBlank
    role: TranscriptRole
    type: NonBlank
    content: StrictStr
    status: TranscriptStatus
    details: StrictStr | None = None
    startedAt: Annotated[StrictInt, Field(ge=0)] | None = None
    completedAt: Annotated[StrictInt, Field(ge=0)] | None = None


class RollbackBody(_Body):
    numTurns: Annotated[int, Field(ge=1)] = 1


class ReviewBody(_Body):
    delivery: Literal["inline", "detached"] = "inline"
    targetType: Literal["uncommittedChanges", "baseBranch", "commit", "custom"] = "custom"
    branch: NonBlank | None = None
    sha: NonBlank | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=300)] | None = None
    instructions: NonBlank | None = None


class SteerBody(_Body):
    input: NonBlank


class SessionProjectBody(_Body):
    # The key is required; null moves the session out of every project.
    projectId: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=200)] | None


class ResumeBody(_Body):
    dynamicTools: DynamicToolList | None = None


class SessionControlsTuple(_Body):
    model: NonBlank | None  # the key is required; null = the runtime's default model
    approvalPolicy: ApprovalPolicy
    networkAccess: NetworkAccess
    filesystemSandbox: FilesystemSandbox
    settings: dict[str, Any] | None = None


class SessionControlsBody(_Body):
    scope: SettingsScope
    controls: SessionControlsTuple
    actor: Actor | None = None
    source: Source | None = None


class SettingsQuery(_Body):
    scope: SettingsScope = "session"
    key: SettingsKey | None = None


class SettingsUnsetQuery(_Body):
    scope: SettingsScope = "session"
    actor: Actor | None = None
    source: Source | None = None


class SessionSettingsBody(_Body):
    """`POST S/settings`: either `settings` (+`mode`) or `key` + `value`, never both."""

    scope: SettingsScope
    settings: dict[str, Any] | None = None
    mode: Literal["merge", "replace"] = "merge"
    key: SettingsKey | None = None
    value: Any = None
    actor: Actor | None = None
    source: Source | None = None
    _has_value: bool = PrivateAttr(default=False)

    @classmethod
    def parse(cls, raw: Any) -> SessionSettingsBody:
        body = cls.model_validate(raw if raw is not None else {})
        body._has_value = isinstance(raw, dict) and "value" in raw
        return body

    def form_problem(self) -> str | None:
        """Upstream's rule, checked after the schema: exactly one form."""
        if self.settings is not None and self.key is not None:
            return "send either settings or key/value, not both"
        if self.settings is None and self.key is None:
            return "send settings, or key and value"
        if self.key is not None and not self._has_value:
            return "key requires value"
        if self.key is None and self._has_value:
            return "value requires key"
        return None


class ApprovalPolicyBody(_Body):
    approvalPolicy: ApprovalPolicy


class SuggestRequestBody(_Body):
    model: NonBlank | None = None
    effort: Effort | None = None
    draft: Annotated[str, StringConstraints(max_length=4000)] | None = None


class SuggestUpsertBody(_Body):
    requestKey: NonBlank
    status: Literal["streaming", "complete", "error", "canceled"]
    suggestion: Annotated[str, StringConstraints(max_length=8000)] | None = None
    error: Annotated[str, StringConstraints(max_length=4000)] | None = None
