"""Member sessions: created with their skills (the only time dynamic tools are accepted), or
re-attached after a runner restart (`remote_skills.attach_session` binds the handlers again
to a session that already holds its tools)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from teammesh.client import AsyncCodexManager, CodexManagerError
from teammesh.client.remote_skills.session import AsyncRemoteSkillSession


@dataclass
class MemberSession:
    session_id: str
    handle: AsyncRemoteSkillSession


async def create_session(cm: AsyncCodexManager, kwargs: dict[str, Any], title: str,
                         register: Callable[[Any], None]) -> MemberSession:
    _created, handle = await cm.remote_skills.create_session(register=register, **kwargs)
    await cm.sessions.rename(handle.session_id, title)
    return MemberSession(handle.session_id, handle)


async def attach_session(cm: AsyncCodexManager, session_id: str,
                         register: Callable[[Any], None]) -> MemberSession | None:
    """The member's existing session with its handlers bound again, or None when the gateway
    no longer has it (a gateway restarted without its data, or the session was deleted)."""
    try:
        handle = await cm.remote_skills.attach_session(session_id, register=register)
    except CodexManagerError:
        return None
    return MemberSession(session_id, handle)
