"""Remote skills: Python handlers a session's agent calls as dynamic tools."""

from teammesh.client.remote_skills.context import SkillContext, current_call
from teammesh.client.remote_skills.facade import AsyncRemoteSkillsFacade, RemoteSkillsFacade
from teammesh.client.remote_skills.models import (
    AsyncRemoteSkillLifecycle,
    RemoteSkill,
    RemoteSkillDispatch,
    RemoteSkillLifecycle,
    RemoteSkillSendResult,
)
from teammesh.client.remote_skills.session import AsyncRemoteSkillSession, RemoteSkillSession

__all__ = [
    "AsyncRemoteSkillLifecycle",
    "AsyncRemoteSkillSession",
    "AsyncRemoteSkillsFacade",
    "RemoteSkill",
    "RemoteSkillDispatch",
    "RemoteSkillLifecycle",
    "RemoteSkillSendResult",
    "RemoteSkillSession",
    "RemoteSkillsFacade",
    "SkillContext",
    "current_call",
]
