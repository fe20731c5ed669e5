"""Each member session's history, copied onto the board when a run ends, so `teammesh runs
transcript RUN MEMBER` can print it after the run.

Why a copy: an embedded gateway (the default `teammesh run`/`demo`) keeps its sessions in a
throwaway data dir that goes with the run; an external gateway may be restarted, pruned or
gone. The copy is the gateway's own session detail (`GET /api/sessions/{id}`: the thread,
its turns and their items), taken once per member at the end of the run (and again at the
end of a resumed run, replacing it). A run killed before its end has no copy yet: resuming
it makes one.

The copies are fetched a few at a time: one GET after another made a 32-member run's end
wait for 32 sequential round trips (~30% of a short run's wall time in `make bench`).
"""

from __future__ import annotations

import asyncio
import json

from teammesh.client import CodexManagerError
from teammesh.mesh.calls import MemberState
from teammesh.mesh.run_state import RunState

FETCH_AT_ONCE = 8

# A copy bigger than this (JSON characters) is not kept whole: the record says so instead.
MAX_TRANSCRIPT_CHARS = 8_000_000


async def save_transcripts(state: RunState) -> None:
    """Copy every member session's history to the board; a session the gateway cannot give
    now is noted and skipped (the run's outcome does not depend on it)."""
    gate = asyncio.Semaphore(FETCH_AT_ONCE)

    async def copy(member: MemberState) -> None:
        async with gate:
            await _copy_transcript(state, member)

    await asyncio.gather(*(copy(m) for m in state.members.values() if m.session is not None))


async def _copy_transcript(state: RunState, member: MemberState) -> None:
    assert member.session is not None
    session_id = member.session.session_id
    try:
        detail = await member.cm.sessions.get(session_id)
    except CodexManagerError as exc:
        state.printer.note(f"transcript of {member.name} not kept: {exc}")
        return
    text = json.dumps(detail, sort_keys=True)
    if len(text) > MAX_TRANSCRIPT_CHARS:
        detail = {"truncated": True, "chars": len(text),
                  "note": f"the session's history was over {MAX_TRANSCRIPT_CHARS:,}"
                          " characters; read it from its gateway"}
    try:
        state.board.save_transcript(member.name, session_id, detail)
    except Exception as exc:  # a full disk, say: the run's outcome stands
        state.printer.note(f"transcript of {member.name} not kept: {exc}")
