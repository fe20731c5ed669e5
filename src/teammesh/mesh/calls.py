"""The tool-call side of a run: each member's handlers (behind the approval gate), the one
stream listener for the whole team, the polling fallback, and counting/printing each call
once whichever path answered it. Answers the runner did not give itself (another client's,
or a gateway expiry) are faults (`foreign.py`): once one is known in a member's turn, its
later calls change nothing on the board and the turn is interrupted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from teammesh.client import AsyncCodexManager
from teammesh.client.events import AppServerSignal, StreamEvent
from teammesh.client.remote_skills.context import current_call
from teammesh.client.remote_skills.dispatcher import normalize_request_id
from teammesh.client.remote_skills.models import RemoteSkillDispatch
from teammesh.mesh.board import TeamBoard, TurnSlot
from teammesh.mesh.foreign import AnswerAudit, AnswerFault
from teammesh.mesh.output import Printer
from teammesh.mesh.policies import ApprovalGate
from teammesh.mesh.sessions import MemberSession
from teammesh.mesh.skills import MemberSkills, refusal_payload
from teammesh.mesh.team import Member


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
    def __init__(self, board: TeamBoard, printer: Printer, gate: ApprovalGate,
                 on_change: Callable[[], None]) -> None:
        self.board = board
        self.printer = printer
        self.gate = gate
        self.on_change = on_change
        self.count = 0
        self.by_session: dict[str, MemberState] = {}
        self._counted: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.audit = AnswerAudit()
        self._interrupted: set[str] = set()  # turn ids interrupted for a foreign answer

    # -- handlers --------------------------------------------------------------------------

    def register_for(self, member: MemberState) -> Callable[[Any], None]:
        """The `register` callback of `remote_skills.create_session` for this member."""

        def register(draft: Any) -> None:
            for name, description, schema in member.skills.catalog():
                draft.register(name, self._handler(member, name), description=description,
                               input_schema=schema)

        return register

    def _handler(self, member: MemberState, tool: str) -> Callable[..., Any]:
        async def handler(*positional: Any, **arguments: Any) -> dict[str, Any]:
            call = current_call()
            request_id = call.request_id if call is not None else None
            args: Any = positional[0] if positional else arguments
            key = member.skills.key(request_id)
            turn_id = call.turn_id if call is not None else None
            if member.session is not None:
                self.audit.saw_call(member.session.session_id, request_id, tool)
            if (refused := await self._refuse_if_tainted(member, tool, key, turn_id)):
                return refused
            if self.gate.rules and isinstance(args, dict) and (
                    key is None or self.board.recorded(key) is None):
                self.on_change()
                reason = await self.gate.check(member.name, tool, args, key)
                self.on_change()
                if reason is not None:
                    self._count(member, tool, key)
                    return refusal_payload(tool, reason)
                # The operator may have taken a while: someone else may have answered since.
                if (refused := await self._refuse_if_tainted(member, tool, key, turn_id)):
                    return refused
            payload = member.skills.call(tool, args, request_id)
            # Printed here, before the answer is submitted, so the line always comes before
            # the turn's own line (the turn cannot end before it has this answer).
            self._count(member, tool, key)
            self.on_change()
            return payload

        handler.__name__ = tool
        return handler

    async def _refuse_if_tainted(self, member: MemberState, tool: str, key: str | None,
                                 turn_id: str | None) -> dict[str, Any] | None:
        """A refusal when the member's turn already got an answer we did not give: the agent
        is acting on it, so nothing it does in this turn may change the board (a forged
        success must not end in `team_mark_done`). The turn fails; its claim goes back."""
        if member.session is None or not await self.tainted(member):
            return None
        self._interrupt(member, turn_id)
        self._count(member, tool, key)
        return refusal_payload(tool, "this turn is failed: one of its tool calls was"
                                     " answered by someone other than the team runner")

    # -- the two paths ---------------------------------------------------------------------

    async def on_signal(self, signal: AppServerSignal, context: Any = None) -> None:
        """The one stream handler: route by `session.id`, else `context.threadId`."""
        session_id = None
        if isinstance(signal.session, dict):
            candidate = signal.session.get("id")
            if isinstance(candidate, str) and candidate.strip():
                session_id = candidate
        if session_id is None:
            candidate = signal.context.get("threadId") if signal.context else None
            if isinstance(candidate, str) and candidate.strip():
                session_id = candidate
        member = self.by_session.get(session_id or "")
        if member is None or member.session is None:
            return
        params = signal.params if isinstance(signal.params, dict) else {}
        tool = params.get("tool")
        self.audit.saw_call(member.session.session_id, normalize_request_id(signal.request_id),
                            tool if isinstance(tool, str) else None)
        # Answered in its own task: a slow handler (an approval waiting for its operator)
        # must not stop the stream from reading other members' calls and turn ends.
        self.spawn(self._respond(member, signal))

    def on_resolved(self, event: StreamEvent, context: Any = None) -> None:
        """`tool_call_resolved`: the gateway resolved one of a member's calls (whoever
        answered it). Recorded in stream order, i.e. before the member's next call arrives."""
        member = self.by_session.get(event.thread_id or "")
        payload = event.payload if isinstance(event.payload, dict) else {}
        raw_id, status = payload.get("requestId"), payload.get("status")
        if member is None or member.session is None or not isinstance(status, str):
            return
        request_id = normalize_request_id(raw_id if isinstance(raw_id, str | int) else None)
        if request_id is not None:
            self.audit.saw_resolution(member.session.session_id, request_id, status)

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
        self._dispatched(member, await member.session.handle.respond_to_signal(signal))

    async def drain(self, member: MemberState) -> None:
        """The polling fallback: answer what the gateway lists as pending for the member."""
        assert member.session is not None
        for dispatched in await member.session.handle.drain_pending_calls():
            self._dispatched(member, dispatched)

    # -- counting --------------------------------------------------------------------------

    def _count(self, member: MemberState, tool: str, key: str | None) -> None:
        if key is not None:
            if key in self._counted:
                return
            self._counted.add(key)
        self.count += 1
        self.printer.tool_call(member.name, tool)

    def _dispatched(self, member: MemberState, dispatched: RemoteSkillDispatch | None) -> None:
        """A call answered without reaching our handler (the client refused its arguments,
        or the tool is unknown) is still a handled tool call: count and print it once."""
        if dispatched is None or dispatched.duplicate:
            return
        request_id = normalize_request_id(dispatched.request_id)
        if dispatched.answered_elsewhere:
            self._interrupt(member, dispatched.turn_id)
        self._count(member, dispatched.tool, member.skills.key(request_id))

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
