"""Every member's session for a run: created for a new run, re-attached on resume.

A resumed runner binds its handlers again to each member's existing session (the one the
board recorded), so the turns the old runner left running keep their calls answered; a
member whose session is gone gets a new one, and its open turn is settled as lost by the
recovery (`run_recovery.py`).

Members' sessions open a few at a time, not one after another: each is two round trips (create,
then rename), and on codex a `thread/start` that codex serves concurrently, so a 32-member
team's set-up no longer costs 32 sequential round-trip pairs. The bound keeps a large team from
opening every session on the gateway at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from teammesh.mesh.calls import MemberState
from teammesh.mesh.run_state import RunState
from teammesh.mesh.sessions import attach_session, create_session
from teammesh.mesh.workspaces import workspace_session

OPEN_AT_ONCE = 8


async def open_sessions(state: RunState, *, resume: bool) -> dict[str, bool]:
    """Create (or re-attach, on resume) every member's session; returns which members were
    re-attached to their old session. If one fails, the others are cancelled and the error
    propagates, as it did when they opened one by one."""
    known = state.board.sessions() if resume else {}
    reattached: dict[str, bool] = {}
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def open_one(name: str, member: MemberState) -> None:
        async with gate:
            old = known.get(name)
            session = None
            if old is not None:
                session = await attach_session(member.cm, old, state.calls.register_for(member))
            reattached[name] = session is not None
            if session is None:
                kwargs = member.spec.session_kwargs()
                if state.workspace is not None:  # its own worktree, sandboxed there
                    kwargs = workspace_session(state.workspace, name, kwargs)
                session = await create_session(member.cm, kwargs, f"team-{name}",
                                               state.calls.register_for(member))
                state.board.set_session(name, session.session_id)
            member.session = session
            state.calls.by_session[session.session_id] = member

    await _all_or_first_error([open_one(name, m) for name, m in state.members.items()])
    # In roster order, whatever order the sessions opened in.
    return {name: reattached[name] for name in state.members}


async def _all_or_first_error(steps: list[Coroutine[Any, Any, None]]) -> None:
    """Run the steps at once; on the first failure cancel the rest and raise that error
    itself (not an ExceptionGroup: callers report a refused session by its type)."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)  # every task ended before we go on
    for task in tasks:
        if task in done and not task.cancelled() and (error := task.exception()) is not None:
            raise error
