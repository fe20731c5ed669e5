"""Every member's session for a run: created for a new run, re-attached on resume.

A resumed runner binds its handlers again to each member's existing session (the one the
board recorded), so the turns the old runner left running keep their calls answered; a
member whose session is gone gets a new one, and its open turn is settled as lost by the
recovery (`run_recovery.py`).
"""

from __future__ import annotations

from teammesh.mesh.run_state import RunState
from teammesh.mesh.sessions import attach_session, create_session
from teammesh.mesh.workspaces import workspace_session


async def open_sessions(state: RunState, *, resume: bool) -> dict[str, bool]:
    """Create (or re-attach, on resume) every member's session; returns which members were
    re-attached to their old session."""
    known = state.board.sessions() if resume else {}
    reattached: dict[str, bool] = {}
    for name, member in state.members.items():
        old = known.get(name)
        session = None
        if old is not None:
            session = await attach_session(member.cm, old, state.calls.register_for(member))
        reattached[name] = session is not None
        if session is None:
            kwargs = member.spec.session_kwargs()
            if state.workspace is not None:  # its own worktree, sandboxed there
                kwargs = workspace_session(state.workspace, name, kwargs)
            session = await create_session(member.cm, kwargs,
                                           f"team-{name}", state.calls.register_for(member))
            state.board.set_session(name, session.session_id)
        member.session = session
        state.calls.by_session[session.session_id] = member
    return reattached
