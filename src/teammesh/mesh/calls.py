"""The tool-call side of a run: each member's handlers (its skills behind the turn guard and
the approval gate), the one stream listener for the whole team, the polling fallback, and
counting/printing each call once, from its dispatch result, whichever path answered it.
Answers the runner did not give itself (another client's, or a gateway expiry) are faults
(`foreign.py`): once one is known in a member's turn, its later calls change nothing on the
board and the turn is interrupted."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from teammesh.client import (
    AppServerSignal,
    AsyncCodexManager,
    RemoteSkillDispatch,
    SkillContext,
    StreamEvent,
    normalize_request_id,
)
from teammesh.mesh.board import TeamBoard, TurnSlot
from teammesh.mesh.call_record import refused_entry
from teammesh.mesh.foreign import AnswerAudit, AnswerFault
from teammesh.mesh.output import Printer
from teammesh.mesh.policies import ApprovalGate
from teammesh.mesh.sessions import MemberSession, SkillBinding
from teammesh.mesh.skills import (
    QUEUE_WORK,
    MemberSkills,
    SkillDraft,
    SkillHandler,
    board_key,
    refusal_payload,
)
from teammesh.mesh.team import Member
from teammesh.tracing.refused_spans import refused_call_span
from teammesh.tracing.tool_spans import tool_parent, traced_tool


@dataclass
class MemberState:
    """One member during a run: its declaration, its bound skills, its session, and the turn
    it is in (claims made now carry that turn's token)."""

    spec: Member
    skills: MemberSkills
    # The client of the gateway this member's session lives on (A4: one per endpoint).
    cm: AsyncCodexManager
    session: MemberSession | None = None
    active: TurnSlot | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def name(self) -> str:
        return self.spec.name


class ToolCalls:
    """The whole team's tool calls: the handlers' wrappers, both answering paths, the count
    and the foreign-answer audit (one per run)."""

    def __init__(self, board: TeamBoard, printer: Printer, gate: ApprovalGate,
                 on_change: Callable[[], None]) -> None:
        self.board = board
        self.printer = printer
        self.gate = gate
        self.on_change = on_change
        self.count = 0
        self.by_session: dict[str, MemberState] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.audit = AnswerAudit()
        self._interrupted: set[str] = set()  # turn ids interrupted for a foreign answer

    # -- handlers --------------------------------------------------------------------------

    def register_for(self, member: MemberState) -> SkillBinding:
        """What the member's session is opened with (`sessions.py`): its skills, each
        wrapped (once, here) in the turn guard and, where a rule may apply, the approval
        gate; and the observer that counts its calls."""

        def wrap(tool: str, method: SkillHandler) -> SkillHandler:
            handler = self._untainted(member, tool, method)
            if self.gate.applies(member.name, tool):
                # The operator may take a while: someone else may have answered since, so
                # the turn guard looks again once the gate lets the call through.
                handler = self._untainted(member, tool, self.gate.wrap(
                    member.name, tool, handler, self.on_change))
            return traced_tool(member.name, tool, handler, self._replayed,
                               self._task_of(member) if tool == QUEUE_WORK else None)

        def register(draft: SkillDraft) -> None:
            member.skills.register(draft, wrap)

        return SkillBinding(register, self._observer_for(member))

    def _observer_for(self, member: MemberState) -> Callable[[RemoteSkillDispatch], None]:
        """The member session's dispatch observer: every call the registry dispatched
        (refusals before any handler included), once per handler run, so a replayed request
        id (answered from the ledger) is never counted again. Printed before the answer is
        submitted, so the line always comes before the turn's own line (the turn cannot end
        before it has this answer)."""

        def observe(dispatch: RemoteSkillDispatch) -> None:
            self.count += 1
            if member.session is not None:  # a call no handler saw has its span here
                refused_call_span(member.name, member.session.session_id, dispatch)
            if member.session is not None and (refused := refused_entry(
                    member.name, member.session.session_id,
                    member.active.token if member.active else None, dispatch)) is not None:
                # Applied calls were recorded as they applied. The record must never keep
                # the refusal from reaching the agent: a board that cannot take it is noted.
                try:
                    self.board.record_call(refused)
                except Exception as exc:
                    self.printer.note(f"tool call {dispatch.tool} not recorded: {exc}")
            self.printer.tool_call(member.name, dispatch.tool)
            self.on_change()

        return observe

    def _untainted(self, member: MemberState, tool: str,
                   handler: Callable[..., Awaitable[dict[str, Any]] | dict[str, Any]]
                   ) -> Callable[..., Awaitable[dict[str, Any]]]:
        """`handler` behind the turn guard: a refusal when the member's turn already got an
        answer we did not give. The agent is acting on it, so nothing it does in this turn
        may change the board (a forged success must not end in `team_mark_done`). The turn
        fails; its claim goes back."""

        async def guarded(ctx: SkillContext, **arguments: Any) -> dict[str, Any]:
            # Noted as the call reaches its handler: one still waiting for its operator is a
            # call of this turn when the turn ends.
            self.audit.saw_call(ctx.session_id, ctx.request_id, tool)
            self.printer.call_started(member.name, tool)
            if member.session is not None and await self.tainted(member):
                self._interrupt(member, ctx.turn_id)
                return refusal_payload(tool, "this turn is failed: one of its tool calls"
                                             " was answered by someone other than the team"
                                             " runner")
            result = handler(ctx, **arguments)
            return await result if isinstance(result, Awaitable) else result

        return guarded

    # -- the two paths ---------------------------------------------------------------------

    async def on_signal(self, signal: AppServerSignal, context: Any = None) -> None:
        """The one stream handler: route by the signal's own session id."""
        member = self.by_session.get(signal.session_id or "")
        if member is None or member.session is None:
            return
        # Answered in its own task: a slow handler (an approval waiting for its operator)
        # must not stop the stream from reading other members' calls and turn ends.
        self.spawn(self._respond(member, signal))

    def on_resolved(self, event: StreamEvent, context: Any = None) -> None:
        """`tool_call_resolved`: the gateway resolved one of a member's calls (whoever
        answered it). Recorded in stream order, i.e. before the member's next call arrives."""
        member = self.by_session.get(event.thread_id or "")
        payload = event.payload if isinstance(event.payload, dict) else {}
        status = payload.get("status")
        if member is None or member.session is None or not isinstance(status, str):
            return
        request_id = normalize_request_id(payload.get("requestId"))
        if request_id is not None:
            self.audit.saw_resolution(member.session.session_id, request_id, status)

    def _task_of(self, member: MemberState) -> Callable[[], Any]:
        """The task `member` works on now (a handoff span's task id; read only when traced)."""
        return lambda: self.board.current_claim(member.name, member.skills.turn_token())

    def _replayed(self, ctx: SkillContext) -> bool:
        """Whether the board already holds this call's result (asked only when traced)."""
        key = board_key(ctx)
        return key is not None and self.board.recorded(key) is not None

    async def tainted(self, member: MemberState) -> bool:
        assert member.session is not None
        return await self.audit.tainted(member.session.session_id,
                                        member.session.handle.registry.ledger)

    async def faults(self, member: MemberState, *, stream_covers: bool) -> list[AnswerFault]:
        """The answers of the member's current turn that were not ours, each once."""
        assert member.session is not None
        return await self.audit.faults(member.name, member.session.session_id,
                                       member.session.handle.registry.ledger,
                                       stream_covers=stream_covers)

    def _interrupt(self, member: MemberState, turn_id: str | None) -> None:
        """Stop a turn that acts on a foreign answer (once; the turn's own wait settles it)."""
        if turn_id is None or turn_id in self._interrupted or member.session is None:
            return
        self._interrupted.add(turn_id)
        self.spawn(self._interrupt_now(member, member.session.session_id, turn_id))

    @staticmethod
    async def _interrupt_now(member: MemberState, session_id: str, turn_id: str) -> None:
        await member.cm.sessions.interrupt(session_id, turn_id)

    async def _respond(self, member: MemberState, signal: AppServerSignal) -> None:
        assert member.session is not None
        with tool_parent(signal.traceparent):  # the gateway turn span parents the call's
            self._dispatched(member, await member.session.handle.respond_to_signal(signal))

    async def drain(self, member: MemberState) -> None:
        """The polling fallback: answer what the gateway lists as pending for the member."""
        assert member.session is not None
        for dispatched in await member.session.handle.drain_pending_calls():
            self._dispatched(member, dispatched)

    def _dispatched(self, member: MemberState, dispatched: RemoteSkillDispatch | None) -> None:
        """After the answer went out (counted already, by the observer): an answer that met
        404/409 on its first delivery was not ours to give, so its turn stops."""
        if dispatched is not None and not dispatched.duplicate and dispatched.answered_elsewhere:
            self._interrupt(member, dispatched.turn_id)

    # -- background work -------------------------------------------------------------------

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        """Background work must not die silently: a failure (the gateway went away, say) is
        noted; the turn's own wait then decides what happens to the turn."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.printer.note(f"tool-call path failed: {type(exc).__name__}: {exc}")

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
