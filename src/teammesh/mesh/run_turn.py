"""Driving one member's turn: open its slot on the board, send the prompt, wait for the
end (`run_await.py`), print its line, and settle its claims.

Crash safety rests on the order: the turn is recorded before it is sent (a slot whose
token its claims carry) and its gateway turn id as soon as it is known, so a resumed
runner (`run_recovery.py`) can find and finish, or settle as lost, whatever was running.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from teammesh.client import AsyncCodexManager, TransportError, WaitTimeoutError, assistant_reply_of
from teammesh.mesh.board import TurnSlot
from teammesh.mesh.calls import MemberState
from teammesh.mesh.foreign import AnswerFault
from teammesh.mesh.run_await import DeadlinePassed, await_turn, wait_for_gateway
from teammesh.mesh.run_outcome import TurnRecord
from teammesh.mesh.run_state import RunState
from teammesh.mesh.turn_failures import (
    TurnFailure,
    backoff_seconds,
    failure_of_turn,
    refused_turn,
)
from teammesh.tracing.run_spans import traced_turn, turn_settled


class TurnDriver:
    def __init__(self, state: RunState, gateway: AsyncCodexManager) -> None:
        self.state = state
        # The run's own gateway: waited for when a send finds it unreachable.
        self.gateway = gateway

    def timeout_for(self, member: MemberState) -> float:
        return self.state.settings.member(member.name).turn_timeout

    async def run_turn(self, member: MemberState, round_number: int) -> None:
        """One turn of `member` in `round_number`, logged with when it ran."""
        started = time.monotonic()
        ok = False
        try:
            ok = await traced_turn(member, round_number, self._send_turn(member, round_number))
        finally:
            self.state.turn_log.append(TurnRecord(member.name, round_number, started,
                                                  time.monotonic(), ok))

    async def _send_turn(self, member: MemberState, round_number: int) -> bool:
        state = self.state
        assert member.session is not None
        async with member.lock:
            # One commit: the turn's slot, and the member's stray claims back to the queue.
            slot = state.board.open_turn(member.name, round_number, requeue_strays=True,
                                         session_id=member.session.session_id)
            member.active = slot
            state.calls.audit.begin_turn(member.session.session_id)
            prompt = member.spec.render_prompt()
            try:
                accepted = await member.session.handle.send(prompt, inject_skills=False)
            except Exception as exc:  # the gateway refused or is unreachable
                problem = f"send failed: {exc}"
                state.printer.turn_problem(round_number, member.name, problem)
                if isinstance(exc, TransportError):
                    # Unreachable (restarting): wait until it answers again, or the next
                    # rounds would all fail the same way within a second.
                    await wait_for_gateway(self.gateway, self.timeout_for(member))
                self.settle(member, slot, ok=False, reason=problem)
                return False
            turn_id = accepted.get("turnId") if isinstance(accepted, dict) else None
            refused = refused_turn(accepted)
            if refused is not None and not (isinstance(turn_id, str) and turn_id.strip()):
                await self._turn_failed(member, slot, refused, charge=True)
                return False
            if not isinstance(turn_id, str) or not turn_id.strip():
                status = accepted.get("status") if isinstance(accepted, dict) else accepted
                problem = f"turn not accepted ({status})"
                state.printer.turn_problem(round_number, member.name, problem)
                self.settle(member, slot, ok=False, reason=problem)
                return False
            state.board.set_turn_id(slot.token, turn_id)
            return await self.finish_turn(member, slot, turn_id)

    async def finish_turn(self, member: MemberState, slot: TurnSlot, turn_id: str) -> bool:
        """Wait for a sent turn, print its line, settle its claims. True when it completed."""
        state = self.state
        assert member.session is not None
        session_id = member.session.session_id
        try:
            status = await await_turn(state, member, turn_id, self.timeout_for(member))
        except DeadlinePassed as passed:
            await self._answer_faults(member, slot)
            problem = (f"tool call {passed.tool} unanswered after {passed.deadline:g} s;"
                       f" interrupting turn {turn_id}")
            state.printer.turn_problem(slot.round, member.name, problem)
            with contextlib.suppress(Exception):
                await member.cm.sessions.interrupt(session_id, turn_id)
            self.settle(member, slot, ok=False, reason=problem)
            return False
        except WaitTimeoutError:
            await self._answer_faults(member, slot)
            approvals = await _count_listing(member.cm.sessions.approvals, session_id)
            pending = await _count_listing(member.cm.sessions.tool_calls, session_id)
            state.printer.timeout(slot.round, member.name, turn_id, approvals, pending)
            # Timeout rule: stop the turn, and its claims go back to the queue.
            with contextlib.suppress(Exception):
                await member.cm.sessions.interrupt(session_id, turn_id)
            self.settle(member, slot, ok=False,
                        reason=f"timeout waiting for turn {turn_id} (pending approvals="
                               f"{approvals}, pending tool calls={pending})")
            return False
        # The completion event usually carries the reply; else read it from the session (a
        # GET whose transcript grows every turn: bench/scale's last per-task growth).
        reply = member.cm.turns.reply(session_id, turn_id)
        # Without the stream's resolution events, the transcript says who resolved what.
        audit_transcript = not state.stream_covers(member)
        failed = status.strip().lower() == "failed"
        detail: Any = None
        if reply is None or audit_transcript or failed:
            try:
                detail = await member.cm.sessions.get(session_id)
            except TransportError:  # the turn is over; only its reply text is out of reach
                detail = None
            if reply is None and detail is not None:
                reply = assistant_reply_of(detail, turn_id)
            if audit_transcript and detail is not None:
                state.calls.audit.saw_transcript(session_id, turn_id, detail)
        ok = status.strip().lower() in ("completed", "complete")
        failure = failure_of_turn(detail, turn_id) if failed and detail is not None else None
        if failure is None:
            state.printer.reply(slot.round, member.name, reply)
        faults = await self._answer_faults(member, slot)
        reason = None if ok else f"turn ended with status {status.strip() or '(none)'}"
        if faults:
            ok = False  # built on answers we did not give: its claims go back to the queue
            reason = faults[0].describe() + (
                f" (and {len(faults) - 1} more such call(s))" if len(faults) > 1 else "")
        if failure is None:
            self.settle(member, slot, ok=ok, reason=reason)
        else:
            await self._turn_failed(member, slot, failure, charge=True)
        return ok

    async def _turn_failed(self, member: MemberState, slot: TurnSlot, failure: TurnFailure,
                           *, charge: bool) -> None:
        """Print why the turn failed (and record it); stop the run if it will recur, else
        back off."""
        state = self.state
        problem = (failure.message if failure.message.startswith("turn not accepted")
                   else f"turn failed: {failure.message}")
        state.printer.turn_problem(slot.round, member.name, problem)
        self.settle(member, slot, ok=False, charge=charge and not failure.recurring,
                    reason=problem)
        if failure.recurring:
            if state.stopped_by is None:
                state.stopped_by = (f"{member.name}: {failure.message} (this will fail the"
                                    " same way on every retry: fix the configuration, then"
                                    f" `teammesh run --resume {state.board.run_id}`)")
            return
        count = state.failures_in_a_row.get(member.name, 0) + 1
        state.failures_in_a_row[member.name] = count
        await asyncio.sleep(backoff_seconds(count))

    async def _answer_faults(self, member: MemberState, slot: TurnSlot) -> list[AnswerFault]:
        """Report each answer of the turn that was not the runner's; returns them."""
        state = self.state
        faults = await state.calls.faults(member, stream_covers=state.stream_covers(member))
        for fault in faults:
            state.printer.turn_problem(slot.round, member.name,
                                       f"{fault.describe()}; the turn fails")
        state.answer_faults.extend(faults)
        return faults

    def settle(self, member: MemberState, slot: TurnSlot, *, ok: bool, lost: bool = False,
               charge: bool = False, reason: str | None = None) -> None:
        """Settle the turn on the board; a failed or lost one with `reason`, the problem the
        runner printed for it, so the board tells why after the run."""
        state = self.state
        turn_settled(ok=ok, lost=lost, reason=reason)  # on the turn's span, when traced
        if ok:
            state.failures_in_a_row.pop(member.name, None)
        for task in state.board.settle_turn(slot.token, ok=ok, lost=lost,
                                            charge_queue_head=charge, reason=reason):
            if task.status == "dead":
                state.printer.note(f"dead letter: task {task.id} for {task.owner} gave up"
                                   f" after {task.attempts} attempts: {task.text}")
        if member.active is not None and member.active.token == slot.token:
            member.active = None
        state.changed()


async def _count_listing(listing: Callable[[str], Any], session_id: str) -> int:
    """The length of a pending listing; -1 when the gateway cannot say."""
    try:
        data = await listing(session_id)
    except TransportError:
        return -1
    rows = data.get("data") if isinstance(data, dict) else None
    return len(rows) if isinstance(rows, list) else 0
