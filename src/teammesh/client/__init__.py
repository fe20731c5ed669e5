"""teammesh's client SDK, with codex-manager's Python client names.

`AsyncCodexManager` is the real client; `CodexManager` is its thin sync twin. This package
is also the team mesh's only door into the client: what the mesh uses is exported here
(the ledger and its states, the request-id normaliser, the reply reader, the auth header),
so the client's inner layout can change without the mesh noticing.
"""

from teammesh.client.client import AsyncCodexManager, CodexManager
from teammesh.client.config import (
    ENV_API_BASE,
    HEADER_AUTHORIZATION,
    ClientConfig,
    ValidationMode,
    api_base_from_env,
)
from teammesh.client.errors import (
    ApiError,
    AuthError,
    ClientTimeoutError,
    CodexManagerError,
    ConflictError,
    GoneError,
    LockedError,
    NotFoundError,
    RequestDetails,
    ServerError,
    TransportError,
    TypedModelValidationError,
    ValidationError,
    WaitTimeoutError,
)
from teammesh.client.events import (
    AppServerSignal,
    StreamContext,
    StreamEvent,
    normalize_request_id,
)
from teammesh.client.hooks import (
    AsyncHookMiddleware,
    HookRegistry,
    RequestCall,
    SyncHookMiddleware,
)
from teammesh.client.plugins import (
    AsyncClientPlugin,
    PluginLifecycle,
    PluginRegistry,
    SyncClientPlugin,
)
from teammesh.client.protocols import (
    AsyncHeaderProvider,
    AsyncRequestExecutor,
    RetryPolicy,
    SyncHeaderProvider,
    SyncRequestExecutor,
)
from teammesh.client.remote_skills import (
    AsyncRemoteSkillLifecycle,
    AsyncRemoteSkillSession,
    AsyncRemoteSkillsFacade,
    RemoteSkill,
    RemoteSkillDispatch,
    RemoteSkillLifecycle,
    RemoteSkillSendResult,
    RemoteSkillSession,
    RemoteSkillsFacade,
    SkillContext,
    current_call,
)
from teammesh.client.remote_skills.registry import AnswerState, DispatchLedger
from teammesh.client.replies import assistant_reply_of
from teammesh.client.router import EventRouter, StreamHandler, StreamMatcher, StreamRouter
from teammesh.client.stream import AsyncEventStream, SyncEventStream
from teammesh.client.turns import TurnTracker
from teammesh.client.wait import AsyncWaitApi, SessionTurnReply, WaitApi
from teammesh.wire import ApprovalPolicy, FilesystemSandbox, NetworkAccess
from teammesh.wire import Decision as ApprovalDecision
from teammesh.wire import Decision as ToolInputDecision
from teammesh.wire import Effort as ReasoningEffort
from teammesh.wire import SettingsScope as SessionSettingsScopeName

__all__ = [
    "ENV_API_BASE",
    "HEADER_AUTHORIZATION",
    "AnswerState",
    "ApiError",
    "AppServerSignal",
    "ApprovalDecision",
    "ApprovalPolicy",
    "AsyncClientPlugin",
    "AsyncCodexManager",
    "AsyncEventStream",
    "AsyncHeaderProvider",
    "AsyncHookMiddleware",
    "AsyncRemoteSkillLifecycle",
    "AsyncRemoteSkillSession",
    "AsyncRemoteSkillsFacade",
    "AsyncRequestExecutor",
    "AsyncWaitApi",
    "AuthError",
    "ClientConfig",
    "ClientTimeoutError",
    "CodexManager",
    "CodexManagerError",
    "ConflictError",
    "DispatchLedger",
    "EventRouter",
    "FilesystemSandbox",
    "GoneError",
    "HookRegistry",
    "LockedError",
    "NetworkAccess",
    "NotFoundError",
    "PluginLifecycle",
    "PluginRegistry",
    "ReasoningEffort",
    "RemoteSkill",
    "RemoteSkillDispatch",
    "RemoteSkillLifecycle",
    "RemoteSkillSendResult",
    "RemoteSkillSession",
    "RemoteSkillsFacade",
    "RequestCall",
    "RequestDetails",
    "RetryPolicy",
    "ServerError",
    "SessionSettingsScopeName",
    "SessionTurnReply",
    "SkillContext",
    "StreamContext",
    "StreamEvent",
    "StreamHandler",
    "StreamMatcher",
    "StreamRouter",
    "SyncClientPlugin",
    "SyncEventStream",
    "SyncHeaderProvider",
    "SyncHookMiddleware",
    "SyncRequestExecutor",
    "ToolInputDecision",
    "TransportError",
    "TurnTracker",
    "TypedModelValidationError",
    "ValidationError",
    "ValidationMode",
    "WaitApi",
    "WaitTimeoutError",
    "api_base_from_env",
    "assistant_reply_of",
    "current_call",
    "normalize_request_id",
]
