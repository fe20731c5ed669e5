"""`cm.typed`: every operation of `client/operations.py`, returning pydantic models of
`teammesh.wire_responses` / `wire_responses_namespaces` instead of dicts.

`cm.typed.sessions.get(id)` calls `cm.sessions.get(id)` (same arguments, hooks, retries,
allow-list) and validates the body: the operation's success model first, then (for an
operation whose allow-list holds non-2xx statuses) the allowed non-success answers
(`DeletedSession`, `ErrorEnvelope`, `ForwardingFailed`, `Refusal`). A body that is none of
them raises `TypedModelValidationError`. On `CodexManager` a call returns the model; on
`AsyncCodexManager` an awaitable of it.

Each line below is one entry of the operation → response model mapping, and the twin of one
raw method (`_typed_call.py` explains the mechanism). `RESPONSE_MODELS` reads the mapping
back; `tests/client/test_typed_coverage.py` holds it equal to `OPERATIONS`.
"""

from __future__ import annotations

from typing import Any, Generic

from pydantic import BaseModel

from teammesh import wire_responses as r
from teammesh import wire_responses_namespaces as n
from teammesh.client._typed_call import (
    Awaiting,
    Blocking,
    Mode,
    TypedCall,
    TypedNamespace,
    answers,
    either,
    ok,
)
from teammesh.client.api import (
    AccountApi,
    ApprovalsApi,
    AppsApi,
    ConfigApi,
    ExtensionsApi,
    FeedbackApi,
    McpApi,
    ModelsApi,
    OrchestratorApi,
    ProjectsApi,
    RuntimeApi,
    SessionsApi,
    SkillsApi,
    SystemApi,
    ToolCallsApi,
    ToolInputApi,
)

__all__ = ["RESPONSE_MODELS", "Awaiting", "Blocking", "TypedApi", "typed_calls"]


class TypedSystem(TypedNamespace[Mode]):
    health = ok(SystemApi.health, "system.health", r.Health)
    info = ok(SystemApi.info, "system.info", r.ServiceInfo)
    capabilities = ok(SystemApi.capabilities, "system.capabilities", r.Capabilities)
    experimental_features = answers(SystemApi.experimental_features,
                                    "system.features.experimental", n.ExperimentalFeaturePage)
    collaboration_modes = answers(SystemApi.collaboration_modes, "system.collaboration.modes",
                                  n.CollaborationModePage)


class TypedModels(TypedNamespace[Mode]):
    list = answers(ModelsApi.list, "models.list", n.ModelPage)


class TypedApps(TypedNamespace[Mode]):
    list = answers(AppsApi.list, "apps.list", n.AppPage)


class TypedSkills(TypedNamespace[Mode]):
    list = answers(SkillsApi.list, "skills.list", n.SkillsPage)
    set_config = answers(SkillsApi.set_config, "skills.config.set", n.OkResult[n.EmptyResult])
    remote_get = answers(SkillsApi.remote_get, "skills.remote.get", n.OkResult[Any])
    remote_set = answers(SkillsApi.remote_set, "skills.remote.set", n.OkResult[Any])


class TypedMcp(TypedNamespace[Mode]):
    servers = answers(McpApi.servers, "mcp.servers.list", n.McpServerPage)
    reload = answers(McpApi.reload, "mcp.reload", n.OkResult[n.EmptyResult])
    oauth_login = answers(McpApi.oauth_login, "mcp.oauth.login",
                          n.OkResult[n.OAuthLoginStarted])


_Login = n.OkResult[n.LoginStarted]


class TypedAccount(TypedNamespace[Mode]):
    get = answers(AccountApi.get, "account.get", n.AccountState)
    login_start = answers(AccountApi.login_start, "account.login.start", _Login)
    login_start_api_key = answers(AccountApi.login_start_api_key, "account.login.start", _Login)
    login_start_chatgpt = answers(AccountApi.login_start_chatgpt, "account.login.start", _Login)
    login_start_chatgpt_auth_tokens = answers(AccountApi.login_start_chatgpt_auth_tokens,
                                              "account.login.start", _Login)
    login_cancel = answers(AccountApi.login_cancel, "account.login.cancel",
                           n.OkResult[n.EmptyResult])
    logout = answers(AccountApi.logout, "account.logout", n.OkResult[n.EmptyResult])
    rate_limits = answers(AccountApi.rate_limits, "account.rate_limits", n.RateLimits)


class TypedConfig(TypedNamespace[Mode]):
    get = answers(ConfigApi.get, "config.get", n.ConfigRead)
    requirements = answers(ConfigApi.requirements, "config.requirements", n.ConfigRequirements)
    set = answers(ConfigApi.set, "config.set", n.OkResult[n.ConfigWritten])
    batch_set = answers(ConfigApi.batch_set, "config.batch_set", n.OkResult[n.ConfigWritten])


class TypedRuntime(TypedNamespace[Mode]):
    exec = answers(RuntimeApi.exec, "runtime.exec", n.OkResult[n.CommandRan])


class TypedFeedback(TypedNamespace[Mode]):
    submit = answers(FeedbackApi.submit, "feedback.submit", n.OkResult[n.FeedbackUploaded])


class TypedExtensions(TypedNamespace[Mode]):
    list = ok(ExtensionsApi.list, "extensions.list", n.ExtensionsSnapshot)
    reload = ok(ExtensionsApi.reload, "extensions.reload", n.ExtensionsReloaded)


class TypedOrchestrator(TypedNamespace[Mode]):
    get = ok(OrchestratorApi.get, "orchestrator.jobs.get", n.JobAnswer)
    list = ok(OrchestratorApi.list, "orchestrator.jobs.list", n.JobPage)
    cancel = answers(OrchestratorApi.cancel, "orchestrator.jobs.cancel", n.JobAnswer)


class TypedProjects(TypedNamespace[Mode]):
    list = ok(ProjectsApi.list, "projects.list", n.ProjectPage)
    create = ok(ProjectsApi.create, "projects.create", n.ProjectCreated)
    rename = ok(ProjectsApi.rename, "projects.rename", n.ProjectRenamed)
    delete = answers(ProjectsApi.delete, "projects.delete", n.ProjectDeleted)
    list_agent_sessions = answers(ProjectsApi.list_agent_sessions,
                                  "projects.agent_sessions.list", n.AgentSessions)
    move_all_chats = ok(ProjectsApi.move_all_chats, "projects.chats.move_all", n.ChatsMoved)
    delete_all_chats = ok(ProjectsApi.delete_all_chats, "projects.chats.delete_all",
                          n.ChatsDeleted)
    orchestrator_jobs = ok(ProjectsApi.orchestrator_jobs, "projects.orchestrator.jobs.list",
                           n.JobPage)


class TypedSessions(TypedNamespace[Mode]):
    list = ok(SessionsApi.list, "sessions.list", r.SessionPage)
    create = ok(SessionsApi.create, "sessions.create", r.SessionCreated)
    get = answers(SessionsApi.get, "sessions.get", r.SessionDetail)
    rename = ok(SessionsApi.rename, "sessions.rename", r.SessionRenamed)
    delete = answers(SessionsApi.delete, "sessions.delete", r.SessionDeleted)
    send_message = answers(SessionsApi.send_message, "sessions.send_message", r.TurnAccepted)
    interrupt = answers(SessionsApi.interrupt, "sessions.interrupt", r.TurnInterrupted)
    approvals = answers(SessionsApi.approvals, "sessions.approvals.list", r.PendingApprovals)
    tool_calls = answers(SessionsApi.tool_calls, "sessions.tool_calls.list", r.PendingToolCalls)
    tool_input = answers(SessionsApi.tool_input, "sessions.tool_input.list", r.PendingToolInputs)
    fork = answers(SessionsApi.fork, "sessions.fork", r.SessionForked)
    compact = answers(SessionsApi.compact, "sessions.compact", r.SessionOk)
    rollback = answers(SessionsApi.rollback, "sessions.rollback", r.SessionOk)
    clean_background_terminals = answers(SessionsApi.clean_background_terminals,
                                         "sessions.background_terminals.clean", r.SessionOk)
    review = answers(SessionsApi.review, "sessions.review", r.SessionOk)
    steer = answers(SessionsApi.steer, "sessions.steer", r.SessionOk)
    archive = ok(SessionsApi.archive, "sessions.archive", r.SessionOk)
    unarchive = ok(SessionsApi.unarchive, "sessions.unarchive", r.SessionResumed)
    resume = answers(SessionsApi.resume, "sessions.resume", r.SessionResumed)
    set_project = ok(SessionsApi.set_project, "sessions.project.set", r.SessionProjectSet)
    controls_get = answers(SessionsApi.controls_get, "sessions.controls.get", r.ControlsReport)
    controls_apply = answers(SessionsApi.controls_apply, "sessions.controls.apply",
                             r.ControlsApplied)
    settings_get = answers(SessionsApi.settings_get, "sessions.settings.get", r.SettingsReport)
    settings_set = answers(SessionsApi.settings_set, "sessions.settings.set", r.SettingsReport)
    settings_unset = answers(SessionsApi.settings_unset, "sessions.settings.unset",
                             r.SettingsReport)
    approval_policy = answers(SessionsApi.approval_policy, "sessions.approval_policy.set",
                              r.ApprovalPolicySet)
    # 200 with the suggestion, or 202 `queued` while the job is still running (routes §7.5)
    suggest_request = either(SessionsApi.suggest_request, "sessions.suggest_request",
                             r.Suggestion, r.SuggestionQueued)
    suggest_request_enqueue = answers(SessionsApi.suggest_request_enqueue,
                                      "sessions.suggest_request.enqueue", r.SuggestionQueued)
    suggest_request_upsert = answers(SessionsApi.suggest_request_upsert,
                                     "sessions.suggest_request.upsert", r.SuggestionUpserted)
    transcript_upsert = answers(SessionsApi.transcript_upsert, "sessions.transcript.upsert",
                                r.TranscriptUpserted)


class TypedApprovals(TypedNamespace[Mode]):
    decide = answers(ApprovalsApi.decide, "approvals.decide", n.ApprovalDecided)


class TypedToolInput(TypedNamespace[Mode]):
    decide = answers(ToolInputApi.decide, "tool_input.decide", n.RequestAnswered)


class TypedToolCalls(TypedNamespace[Mode]):
    respond = answers(ToolCallsApi.respond, "tool_calls.respond", n.RequestAnswered)


class TypedApi(Generic[Mode]):
    """`cm.typed`: one typed namespace per raw one, same names (`raw` excluded: it sends any
    path, so it has no model). `source` is the client whose raw namespaces are wrapped."""

    def __init__(self, source: Any, *, blocking: bool) -> None:
        b = blocking
        self.system: TypedSystem[Mode] = TypedSystem(source.system, blocking=b)
        self.models: TypedModels[Mode] = TypedModels(source.models, blocking=b)
        self.apps: TypedApps[Mode] = TypedApps(source.apps, blocking=b)
        self.skills: TypedSkills[Mode] = TypedSkills(source.skills, blocking=b)
        self.mcp: TypedMcp[Mode] = TypedMcp(source.mcp, blocking=b)
        self.account: TypedAccount[Mode] = TypedAccount(source.account, blocking=b)
        self.config: TypedConfig[Mode] = TypedConfig(source.config, blocking=b)
        self.runtime: TypedRuntime[Mode] = TypedRuntime(source.runtime, blocking=b)
        self.feedback: TypedFeedback[Mode] = TypedFeedback(source.feedback, blocking=b)
        self.extensions: TypedExtensions[Mode] = TypedExtensions(source.extensions, blocking=b)
        self.orchestrator: TypedOrchestrator[Mode] = TypedOrchestrator(
            source.orchestrator, blocking=b)
        self.projects: TypedProjects[Mode] = TypedProjects(source.projects, blocking=b)
        self.sessions: TypedSessions[Mode] = TypedSessions(source.sessions, blocking=b)
        self.approvals: TypedApprovals[Mode] = TypedApprovals(source.approvals, blocking=b)
        self.tool_input: TypedToolInput[Mode] = TypedToolInput(source.tool_input, blocking=b)
        self.tool_calls: TypedToolCalls[Mode] = TypedToolCalls(source.tool_calls, blocking=b)

    def namespaces(self) -> dict[str, TypedNamespace[Mode]]:
        return {k: v for k, v in vars(self).items() if isinstance(v, TypedNamespace)}

    def __dir__(self) -> list[str]:
        return sorted(self.namespaces())


_NAMESPACE_CLASSES: dict[str, type[TypedNamespace[Any]]] = {
    "system": TypedSystem, "models": TypedModels, "apps": TypedApps, "skills": TypedSkills,
    "mcp": TypedMcp, "account": TypedAccount, "config": TypedConfig, "runtime": TypedRuntime,
    "feedback": TypedFeedback, "extensions": TypedExtensions,
    "orchestrator": TypedOrchestrator, "projects": TypedProjects, "sessions": TypedSessions,
    "approvals": TypedApprovals, "tool_input": TypedToolInput, "tool_calls": TypedToolCalls,
}


def typed_calls() -> dict[tuple[str, str], TypedCall[Any, Any]]:
    """Every typed call, keyed by (namespace, method)."""
    return {(space, name): call for space, cls in _NAMESPACE_CLASSES.items()
            for name, call in cls.calls().items()}


RESPONSE_MODELS: dict[str, type[BaseModel]] = {
    call.operation: call.models[0] for call in typed_calls().values()}
"""Operation → its success model (the first, for `suggest_request`'s two)."""
