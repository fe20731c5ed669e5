"""Domain APIs shared by both clients."""

from teammesh.client.api._base import UNSET, Requester
from teammesh.client.api.interactive import ApprovalsApi, ToolCallsApi, ToolInputApi
from teammesh.client.api.runtime_namespaces import (
    AccountApi,
    AppsApi,
    ConfigApi,
    FeedbackApi,
    McpApi,
    ModelsApi,
    RuntimeApi,
    SkillsApi,
)
from teammesh.client.api.scope import SessionScope
from teammesh.client.api.sessions import SessionsApi
from teammesh.client.api.state_namespaces import ExtensionsApi, OrchestratorApi, ProjectsApi
from teammesh.client.api.system import RawApi, SystemApi

__all__ = [
    "UNSET",
    "AccountApi",
    "ApprovalsApi",
    "AppsApi",
    "ConfigApi",
    "ExtensionsApi",
    "FeedbackApi",
    "McpApi",
    "ModelsApi",
    "OrchestratorApi",
    "ProjectsApi",
    "RawApi",
    "Requester",
    "RuntimeApi",
    "SessionScope",
    "SessionsApi",
    "SkillsApi",
    "SystemApi",
    "ToolCallsApi",
    "ToolInputApi",
]
