"""Member sessions: created with their skills (the only time dynamic tools are accepted), or
re-attached after a runner restart (`remote_skills.attach_session` binds the handlers again
to a session that already holds its tools). Either way the session's registry gets the
member's dispatch observer, the one place its calls are counted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from teammesh.client import (
    AsyncCodexManager,
    AsyncRemoteSkillSession,
    CodexManagerError,
    RemoteSkillDispatch,
)


@dataclass(frozen=True)
class SkillBinding:
    """What a member session is opened with: `register` declares its skills on the draft,
    `observe` (if any) hears each dispatch result of the bound session."""

    register: Callable[[AsyncRemoteSkillSession], None]
    observe: Callable[[RemoteSkillDispatch], None] | None = None


@dataclass
class MemberSession:
    session_id: str
    handle: AsyncRemoteSkillSession


def _bound(handle: AsyncRemoteSkillSession, binding: SkillBinding) -> MemberSession:
    handle.registry.observe(binding.observe)
    return MemberSession(handle.session_id, handle)


async def create_session(cm: AsyncCodexManager, kwargs: dict[str, Any], title: str,
                         binding: SkillBinding) -> MemberSession:
    _created, handle = await cm.remote_skills.create_session(register=binding.register,
                                                             **kwargs)
    await cm.sessions.rename(handle.session_id, title)
    return _bound(handle, binding)


async def attach_session(cm: AsyncCodexManager, session_id: str,
                         binding: SkillBinding) -> MemberSession | None:
    """The member's existing session with its handlers bound again, or None when the gateway
    no longer has it (a gateway restarted without its data, or the session was deleted)."""
    try:
        handle = await cm.remote_skills.attach_session(session_id, register=binding.register)
    except CodexManagerError:
        return None
    return _bound(handle, binding)
