"""Domain APIs shared by both clients."""

from teammesh.client.api._base import UNSET, Requester
from teammesh.client.api.interactive import ApprovalsApi, ToolCallsApi, ToolInputApi
from teammesh.client.api.scope import SessionScope
from teammesh.client.api.sessions import SessionsApi
from teammesh.client.api.system import RawApi, SystemApi

__all__ = [
    "UNSET",
    "ApprovalsApi",
    "RawApi",
    "Requester",
    "SessionScope",
    "SessionsApi",
    "SystemApi",
    "ToolCallsApi",
    "ToolInputApi",
]
