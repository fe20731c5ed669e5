"""Member sessions: created with their skills (the only time dynamic tools are accepted), or
re-attached after a runner restart.

Re-attaching needs the handlers bound again to a session that already holds its tools. The
client has no public call for that (`remote_skills.session(id)` returns a locked, empty
catalog), so `attach_session` fills the bound registry from a draft exactly as
`create_session` does after its POST — the one place mesh reaches past the client's facade.
"""

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
        detail = await cm.sessions.get(session_id)
    except CodexManagerError:
        return None
    session = detail.get("session") if isinstance(detail, dict) else None
    if not isinstance(session, dict) or detail.get("status") == "deleted":
        return None
    draft = cm.remote_skills.new_draft()
    register(draft)
    handle = cm.remote_skills.session(session_id)
    handle.registry.skills = dict(draft.registry.skills)
    return MemberSession(session_id, handle)
