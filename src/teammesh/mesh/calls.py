"""The tool-call side of a run: each member's handlers (behind the approval gate), the one
stream listener for the whole team, the polling fallback, and counting/printing each call
once whichever path answered it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from teammesh.client import AsyncCodexManager
from teammesh.client.events import AppServerSignal
from teammesh.client.remote_skills.context import current_call
from teammesh.client.remote_skills.dispatcher import normalize_request_id
from teammesh.client.remote_skills.models import RemoteSkillDispatch
from teammesh.mesh.board import TeamBoard, TurnSlot
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
            if self.gate.rules and isinstance(args, dict) and (
                    key is None or self.board.recorded(key) is None):
                self.on_change()
                reason = await self.gate.check(member.name, tool, args, key)
                self.on_change()
                if reason is not None:
                    self._count(member, tool, key)
                    return refusal_payload(tool, reason)
            payload = member.skills.call(tool, args, request_id)
            # Printed here, before the answer is submitted, so the line always comes before
            # the turn's own line (the turn cannot end before it has this answer).
            self._count(member, tool, key)
            self.on_change()
            return payload

        handler.__name__ = tool
        return handler

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
        # Answered in its own task: a slow handler (an approval waiting for its operator)
        # must not stop the stream from reading other members' calls and turn ends.
        self.spawn(self._respond(member, signal))

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
