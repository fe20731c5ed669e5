"""Resume after a crash: settle the turns the previous runner left open.

The board says which turns were open when the old runner died. A turn of a member whose
session could be re-attached (`run_sessions.py`) is waited out where it stands (its
pending calls answered once, since a call the old runner saw will not be signalled again)
and settled; a turn whose session is gone, or that was never sent, is settled as lost.
Then every claim no open turn holds goes back to the queue.
"""

from __future__ import annotations

from teammesh.mesh.board import TurnSlot
from teammesh.mesh.calls import MemberState
from teammesh.mesh.run_state import RunState
from teammesh.mesh.run_turn import TurnDriver
from teammesh.tracing.run_spans import traced_turn


async def recover(state: RunState, driver: TurnDriver, reattached: dict[str, bool]) -> None:
    """Settle the turns the previous runner left open, then requeue stray claims."""
    for slot in state.board.open_turns():
        await recover_turn(state, driver, slot, reattached=bool(reattached.get(slot.member)))
    for name in state.members:
        state.board.requeue_stray_claims(name, set())


async def recover_turn(state: RunState, driver: TurnDriver, slot: TurnSlot, *,
                       reattached: bool, who: str = "the runner") -> None:
    """Finish or settle one open turn left by `who` (a dead runner, or a dead worker whose
    member's lease this worker took over)."""
    member = state.members[slot.member]
    if not reattached:
        driver.settle(member, slot, ok=False, lost=True,
                      reason=f"lost: {who} stopped during the turn and its"
                             " session could not be re-attached on resume")
        return
    turn_id = slot.turn_id or await _unrecorded_turn(state, member)
    if turn_id is None:
        # Killed before the turn was sent: nothing ran in it.
        driver.settle(member, slot, ok=False, lost=True,
                      reason=f"lost: {who} stopped before the turn was sent")
        return
    state.board.set_turn_id(slot.token, turn_id)
    member.active = slot
    assert member.session is not None
    state.calls.audit.begin_turn(member.session.session_id)
    # Under its own `invoke_agent` span (marked recovered), opened before the drain, so the
    # calls answered now hang under the turn, not under the run's root.
    await traced_turn(member, slot.round, _finish(state, driver, member, slot, turn_id),
                      recovered=True)


async def _finish(state: RunState, driver: TurnDriver, member: MemberState, slot: TurnSlot,
                  turn_id: str) -> None:
    # A call the old runner saw but never answered will not be signalled again:
    # answer what is pending once, whatever the dispatch paths of this run.
    state.calls.spawn(state.calls.drain(member))
    async with member.lock:
        await driver.finish_turn(member, slot, turn_id)


async def _unrecorded_turn(state: RunState, member: MemberState) -> str | None:
    """A turn of the member's session that no slot knows: sent just before the crash."""
    assert member.session is not None
    detail = await member.cm.sessions.get(member.session.session_id)
    thread = detail.get("thread") if isinstance(detail, dict) else None
    turns = thread.get("turns") if isinstance(thread, dict) else None
    recorded = {s.turn_id for s in state.board.turns() if s.member == member.name}
    ids = [t.get("id") for t in (turns or []) if isinstance(t, dict)]
    unknown = [i for i in ids if isinstance(i, str) and i not in recorded]
    return unknown[-1] if unknown else None
