"""The team runner (S6–S11, A1, B1, B2): one session per member, one stream listener for the
whole team, a polling fallback sharing the client's per-session dedupe, event-driven sync
points, the seed's rounds and stopping rules, and resume after a crash.

Crash safety comes from the board: every turn is recorded before it is sent (a slot whose
token its claims carry), its gateway turn id as soon as it is known, and every tool-call
mutation under its request id. A resumed runner re-attaches to the members' sessions, waits
out (and answers) turns that were running when the old runner died, settles them, sends
lost claims back to the queue, and carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from teammesh.client import (
    AsyncCodexManager,
    ClientConfig,
    TransportError,
    WaitTimeoutError,
    assistant_reply_of,
)
from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, TurnSlot
from teammesh.mesh.board.protocol import RunStatus
from teammesh.mesh.calls import MemberState, ToolCalls
from teammesh.mesh.criteria import RunFacts
from teammesh.mesh.foreign import AnswerFault
from teammesh.mesh.output import Printer
from teammesh.mesh.policies import ApprovalGate, Asker, guards_for
from teammesh.mesh.sessions import attach_session, create_session
from teammesh.mesh.skills import MemberSkills
from teammesh.mesh.team import Member, Team
from teammesh.mesh.turn_failures import (
    TurnFailure,
    backoff_seconds,
    failure_of_turn,
    refused_turn,
)

# While the stream covers a session, pending calls are still drained now and then (a lost
# frame must not stall a turn); without a stream, they are drained often.
DRAIN_INTERVAL_WITH_STREAM = 1.0
DRAIN_INTERVAL_WITHOUT_STREAM = 0.2
# How often a runner retries a gateway it cannot reach (e.g. while it restarts).
GATEWAY_RETRY_SECONDS = 0.5


@dataclass
class RunOptions:
    rounds: int | None = None
    turn_timeout: float | None = None
    concurrency: int | None = None
    use_stream: bool = True
    use_polling: bool = True
    # Seed mode (benchmarks): learn that a turn ended only by polling its session at this
    # interval, as the seed does (1 s), never from the stream's event; tool calls still
    # arrive over the stream. None: event-driven sync points.
    sync_poll_interval: float | None = None
    ask: Asker | None = None
    # Called after every board change the runner makes (the live view redraws).
    on_change: Callable[[], None] | None = None


@dataclass(frozen=True)
class TurnRecord:
    """When a member's turn ran (monotonic seconds), for reports and overlap checks."""

    member: str
    round: int
    started: float
    ended: float
    ok: bool


@dataclass
class RunOutcome:
    run_id: str
    status: str  # "complete" or "incomplete"
    reason: str
    missing: list[str]
    rounds: int
    turns: int
    tool_calls: int
    snapshot: dict[str, Any]
    turn_log: list[TurnRecord] = field(default_factory=list)
    # Tool calls whose answer the agent got was not the runner's (each failed its turn).
    answer_faults: list[AnswerFault] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def makespan(self) -> float:
        """Seconds from the first turn's start to the last turn's end."""
        if not self.turn_log:
            return 0.0
        return (max(t.ended for t in self.turn_log)
                - min(t.started for t in self.turn_log))


class TeamRunner:
    def __init__(self, cm: AsyncCodexManager, team: Team, board: TeamBoard,
                 options: RunOptions | None = None, printer: Printer | None = None,
                 clients: Mapping[str, AsyncCodexManager] | None = None) -> None:
        if board.roster != team.roster:
            raise ValueError(f"the board's team ({', '.join(board.roster)}) is not this team"
                             f" ({', '.join(team.roster)})")
        self.cm = cm
        self.team = team
        # Federation (A4): a member with an `endpoint` has its session on that gateway; one
        # client per endpoint (given, or opened here and closed at the end of the run).
        self.clients: dict[str, AsyncCodexManager] = dict(clients or {})
        self._own_clients: list[AsyncCodexManager] = []
        for spec in team.members:
            if spec.endpoint is not None and spec.endpoint not in self.clients:
                # The environment's credentials, not `cm`'s: those may be the token of this
                # run's own embedded gateway, which no other gateway should ever see.
                client = AsyncCodexManager(base_url=spec.endpoint,
                                           headers=ClientConfig.from_env().headers)
                self.clients[spec.endpoint] = client
                self._own_clients.append(client)
        self.board = board
        self.options = options or RunOptions()
        self.printer = printer or Printer()
        self.rounds = self.options.rounds or team.rounds
        self.concurrency = max(1, self.options.concurrency or team.concurrency)
        self.turns = 0
        self.turn_log: list[TurnRecord] = []
        self.answer_faults: list[AnswerFault] = []
        self.calls = ToolCalls(board, self.printer,
                               ApprovalGate(team.policies.approvals, board, self.options.ask,
                                            team.policies.approval_timeout), self._changed)
        # A failure that will recur (configuration) stops the run: set, no new turn starts.
        self.stopped_by: str | None = None
        self._failures_in_a_row: dict[str, int] = {}
        self.members: dict[str, MemberState] = {}
        for spec in team.members:
            self.members[spec.name] = self._bind(spec)

    # -- members and their skills ----------------------------------------------------------

    def _bind(self, spec: Member) -> MemberState:
        policies = self.team.policies
        guards = guards_for(spec.name, max_chain=policies.max_chain,
                            max_bounces=policies.max_bounces)
        member: MemberState
        skills = MemberSkills(
            member=spec.name, board=self.board, scope="",
            turn_token=lambda: member.active.token if member.active else None,
            handoff_targets=spec.targets, handoff_guards=guards,
        )
        client = self.clients[spec.endpoint] if spec.endpoint is not None else self.cm
        member = MemberState(spec=spec, skills=skills, cm=client)
        return member

    async def _open_sessions(self, resume: bool) -> dict[str, bool]:
        """Create (or re-attach, on resume) every member's session; returns which members
        were re-attached to their old session."""
        known = self.board.sessions() if resume else {}
        reattached: dict[str, bool] = {}
        for name, member in self.members.items():
            old = known.get(name)
            session = None
            if old is not None:
                session = await attach_session(member.cm, old, self.calls.register_for(member))
            reattached[name] = session is not None
            if session is None:
                session = await create_session(member.cm, member.spec.session_kwargs(),
                                               f"team-{name}",
                                               self.calls.register_for(member))
                self.board.set_session(name, session.session_id)
            member.session = session
            member.skills.scope = session.session_id
            self.calls.by_session[session.session_id] = member
        return reattached

    def _changed(self) -> None:
        if self.options.on_change is not None:
            self.options.on_change()

    # -- one turn --------------------------------------------------------------------------

    def _timeout_for(self, member: MemberState) -> float:
        return self.options.turn_timeout or member.spec.turn_timeout or self.team.turn_timeout

    async def _await_turn(self, member: MemberState, turn_id: str, limit: float) -> str:
        """The turn's final status, waiting out a gateway that is unreachable for a while (a
        restart): once it is back, the turn is found finished, or `interrupted` if the old
        gateway process died with it. Only the turn's deadline ends the wait."""
        deadline = time.monotonic() + limit
        while True:
            try:
                return await self._await_turn_once(
                    member, turn_id, max(0.1, deadline - time.monotonic()))
            except TransportError:
                if time.monotonic() >= deadline:
                    raise WaitTimeoutError(f"turn {turn_id}: gateway unreachable") from None
                await asyncio.sleep(GATEWAY_RETRY_SECONDS)

    async def _wait_for_gateway(self, limit: float) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                await self.cm.system.health()
                return
            except TransportError:
                await asyncio.sleep(GATEWAY_RETRY_SECONDS)

    async def _await_turn_once(self, member: MemberState, turn_id: str, limit: float) -> str:
        """The turn's final status: learned from the stream (`turn/completed`) when it covers
        the session, by polling otherwise; pending calls are drained meanwhile."""
        assert member.session is not None
        session_id = member.session.session_id
        seed_poll = self.options.sync_poll_interval
        completion = asyncio.ensure_future(member.cm.wait.turn_completed(
            session_id=session_id, turn_id=turn_id, timeout_seconds=limit,
            interval_seconds=seed_poll or (0.1 if not self.options.use_stream else 0.25),
            use_stream=self.options.use_stream and seed_poll is None))
        drain: asyncio.Task[None] | None = None
        first_seen: dict[str, float] = {}
        first = True
        try:
            while not completion.done():
                covered = self.options.use_stream and member.cm.turns.covers(session_id)
                # While the stream covers the session it delivers the calls; the fallback
                # drain starts one interval in (bench: an immediate GET + racing POSTs per
                # turn were 40% of the runner's time at 32 members).
                if self.options.use_polling and (drain is None or drain.done()) and not (
                        first and covered):
                    # In the background, for the same reason as signals are.
                    drain = self.calls.spawn(self.calls.drain(member))
                first = False
                if self.team.policies.tool_call_deadline is not None:
                    await self._check_deadline(member, first_seen)
                interval = (DRAIN_INTERVAL_WITH_STREAM if covered
                            else DRAIN_INTERVAL_WITHOUT_STREAM)
                if self.team.policies.tool_call_deadline is not None:
                    interval = min(interval, self.team.policies.tool_call_deadline / 4)
                await asyncio.wait({completion}, timeout=interval)
            return str(completion.result())
        finally:
            if not completion.done():
                completion.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await completion

    async def _check_deadline(self, member: MemberState, first_seen: dict[str, float]
                              ) -> None:
        """Raise `_DeadlinePassed` when one of the session's tool calls has stayed unanswered
        longer than the team's tool-call deadline (measured from when we first saw it)."""
        deadline = self.team.policies.tool_call_deadline
        assert deadline is not None
        assert member.session is not None
        listing = await member.cm.sessions.tool_calls(member.session.session_id)
        rows = listing.get("data") if isinstance(listing, dict) else None
        now = time.monotonic()
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            request_id = str(row.get("requestId"))
            since = first_seen.setdefault(request_id, now)
            if now - since >= deadline:
                raise _DeadlinePassed(str(row.get("tool")), deadline)

    async def _finish_turn(self, member: MemberState, slot: TurnSlot, turn_id: str) -> bool:
        """Wait for a sent turn, print its line, settle its claims. True when it completed."""
        assert member.session is not None
        session_id = member.session.session_id
        try:
            status = await self._await_turn(member, turn_id, self._timeout_for(member))
        except _DeadlinePassed as passed:
            await self._answer_faults(member, slot)
            problem = (f"tool call {passed.tool} unanswered after {passed.deadline:g} s;"
                       f" interrupting turn {turn_id}")
            self.printer.turn_problem(slot.round, member.name, problem)
            with contextlib.suppress(Exception):
                await member.cm.sessions.interrupt(session_id, turn_id)
            self._settle(member, slot, ok=False, reason=problem)
            return False
        except WaitTimeoutError:
            await self._answer_faults(member, slot)
            approvals = await self._count_listing(member.cm.sessions.approvals, session_id)
            pending = await self._count_listing(member.cm.sessions.tool_calls, session_id)
            self.printer.timeout(slot.round, member.name, turn_id, approvals, pending)
            # Timeout rule: stop the turn, and its claims go back to the queue.
            with contextlib.suppress(Exception):
                await member.cm.sessions.interrupt(session_id, turn_id)
            self._settle(member, slot, ok=False,
                         reason=f"timeout waiting for turn {turn_id} (pending approvals="
                                f"{approvals}, pending tool calls={pending})")
            return False
        # The completion event usually carries the reply; else read it from the session (a
        # GET whose transcript grows every turn: bench/scale's last per-task growth).
        reply = member.cm.turns.reply(session_id, turn_id)
        # Without the stream's resolution events, the transcript says who resolved what.
        audit_transcript = not (self.options.use_stream and member.cm.turns.covers(session_id))
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
                self.calls.audit.saw_transcript(session_id, turn_id, detail)
        ok = status.strip().lower() in ("completed", "complete")
        failure = failure_of_turn(detail, turn_id) if failed and detail is not None else None
        if failure is None:
            self.printer.reply(slot.round, member.name, reply)
        faults = await self._answer_faults(member, slot)
        reason = None if ok else f"turn ended with status {status.strip() or '(none)'}"
        if faults:
            ok = False  # built on answers we did not give: its claims go back to the queue
            reason = faults[0].describe() + (
                f" (and {len(faults) - 1} more such call(s))" if len(faults) > 1 else "")
        if failure is None:
            self._settle(member, slot, ok=ok, reason=reason)
        else:
            await self._turn_failed(member, slot, failure, charge=True)
        return ok

    async def _turn_failed(self, member: MemberState, slot: TurnSlot, failure: TurnFailure,
                           *, charge: bool) -> None:
        """Print why the turn failed (and record it); stop the run if it will recur, else
        back off."""
        problem = (failure.message if failure.message.startswith("turn not accepted")
                   else f"turn failed: {failure.message}")
        self.printer.turn_problem(slot.round, member.name, problem)
        self._settle(member, slot, ok=False, charge=charge and not failure.recurring,
                     reason=problem)
        if failure.recurring:
            if self.stopped_by is None:
                self.stopped_by = (f"{member.name}: {failure.message} (this will fail the same"
                                   " way on every retry: fix the configuration, then"
                                   f" `teammesh run --resume {self.board.run_id}`)")
            return
        count = self._failures_in_a_row.get(member.name, 0) + 1
        self._failures_in_a_row[member.name] = count
        await asyncio.sleep(backoff_seconds(count))

    async def _answer_faults(self, member: MemberState, slot: TurnSlot) -> list[AnswerFault]:
        """Report each answer of the turn that was not the runner's; returns them."""
        assert member.session is not None
        covers = self.options.use_stream and member.cm.turns.covers(member.session.session_id)
        faults = await self.calls.faults(member, stream_covers=covers)
        for fault in faults:
            self.printer.turn_problem(slot.round, member.name,
                                      f"{fault.describe()}; the turn fails")
        self.answer_faults.extend(faults)
        return faults

    @staticmethod
    async def _count_listing(listing: Callable[[str], Any], session_id: str) -> int:
        """The length of a pending listing; -1 when the gateway cannot say."""
        try:
            return _count(await listing(session_id))
        except TransportError:
            return -1

    def _settle(self, member: MemberState, slot: TurnSlot, *, ok: bool, lost: bool = False,
                charge: bool = False, reason: str | None = None) -> None:
        """Settle the turn on the board; a failed or lost one with `reason`, the problem the
        runner printed for it, so the board tells why after the run."""
        if ok:
            self._failures_in_a_row.pop(member.name, None)
        for task in self.board.settle_turn(slot.token, ok=ok, lost=lost,
                                           charge_queue_head=charge, reason=reason):
            if task.status == "dead":
                self.printer.note(f"dead letter: task {task.id} for {task.owner} gave up"
                                  f" after {task.attempts} attempts: {task.text}")
        if member.active is not None and member.active.token == slot.token:
            member.active = None
        self._changed()

    async def _run_turn(self, member: MemberState, round_number: int) -> None:
        started = time.monotonic()
        ok = False
        try:
            ok = await self._send_turn(member, round_number)
        finally:
            self.turn_log.append(TurnRecord(member.name, round_number, started,
                                            time.monotonic(), ok))

    async def _send_turn(self, member: MemberState, round_number: int) -> bool:
        assert member.session is not None
        async with member.lock:
            slot = self.board.open_turn(member.name, round_number)
            member.active = slot
            self.calls.audit.begin_turn(member.session.session_id)
            self.board.requeue_stray_claims(member.name, {slot.token})
            prompt = member.spec.render_prompt()
            try:
                accepted = await member.session.handle.send(prompt, inject_skills=False)
            except Exception as exc:  # the gateway refused or is unreachable
                problem = f"send failed: {exc}"
                self.printer.turn_problem(round_number, member.name, problem)
                if isinstance(exc, TransportError):
                    # Unreachable (restarting): wait until it answers again, or the next
                    # rounds would all fail the same way within a second.
                    await self._wait_for_gateway(self._timeout_for(member))
                self._settle(member, slot, ok=False, reason=problem)
                return False
            turn_id = accepted.get("turnId") if isinstance(accepted, dict) else None
            refused = refused_turn(accepted)
            if refused is not None and not (isinstance(turn_id, str) and turn_id.strip()):
                await self._turn_failed(member, slot, refused, charge=True)
                return False
            if not isinstance(turn_id, str) or not turn_id.strip():
                status = accepted.get("status") if isinstance(accepted, dict) else accepted
                problem = f"turn not accepted ({status})"
                self.printer.turn_problem(round_number, member.name, problem)
                self._settle(member, slot, ok=False, reason=problem)
                return False
            self.board.set_turn_id(slot.token, turn_id)
            return await self._finish_turn(member, slot, turn_id)

    # -- resume ----------------------------------------------------------------------------

    async def _recover(self, reattached: dict[str, bool]) -> None:
        """Settle the turns the previous runner left open."""
        for slot in self.board.open_turns():
            member = self.members[slot.member]
            if not reattached.get(slot.member):
                self._settle(member, slot, ok=False, lost=True,
                             reason="lost: the runner stopped during the turn and its"
                                    " session could not be re-attached on resume")
                continue
            turn_id = slot.turn_id or await self._unrecorded_turn(member)
            if turn_id is None:
                # Killed before the turn was sent: nothing ran in it.
                self._settle(member, slot, ok=False, lost=True,
                             reason="lost: the runner stopped before the turn was sent")
                continue
            self.board.set_turn_id(slot.token, turn_id)
            member.active = slot
            assert member.session is not None
            self.calls.audit.begin_turn(member.session.session_id)
            # A call the old runner saw but never answered will not be signalled again:
            # answer what is pending once, whatever the dispatch paths of this run.
            self.calls.spawn(self.calls.drain(member))
            async with member.lock:
                await self._finish_turn(member, slot, turn_id)
        for name in self.members:
            self.board.requeue_stray_claims(name, set())

    async def _unrecorded_turn(self, member: MemberState) -> str | None:
        """A turn of the member's session that no slot knows: sent just before the crash."""
        assert member.session is not None
        detail = await member.cm.sessions.get(member.session.session_id)
        thread = detail.get("thread") if isinstance(detail, dict) else None
        turns = thread.get("turns") if isinstance(thread, dict) else None
        recorded = {s.turn_id for s in self.board.turns() if s.member == member.name}
        ids = [t.get("id") for t in (turns or []) if isinstance(t, dict)]
        unknown = [i for i in ids if isinstance(i, str) and i not in recorded]
        return unknown[-1] if unknown else None

    # -- rounds ----------------------------------------------------------------------------

    def _facts(self, round_number: int) -> RunFacts:
        return RunFacts(round=round_number, turns=self.turns, tool_calls=self.calls.count)

    def _limit_broken(self, round_number: int, upcoming_turns: int = 0) -> list[str]:
        """The limits (budget, max rounds) that going on would break, while the run has not
        completed. `upcoming_turns`: turns about to start (and not yet counted)."""
        facts = RunFacts(round=round_number, turns=self.turns + upcoming_turns,
                         tool_calls=self.calls.count)
        broken = self.team.completion.broken_limits(self.board, facts)
        if broken and self.team.completion.holds(self.board, facts):
            return []
        return broken

    async def _round(self, round_number: int) -> bool:
        """One round: each member with queued work takes one turn, in roster order, at most
        `concurrency` at a time. Work queued during the round is picked up by members that
        have not run yet in it (as in the seed). Returns whether any member had work."""
        ran: set[str] = set()
        running: dict[asyncio.Future[None], str] = {}
        try:
            while True:
                for name in self.team.roster:
                    if self.stopped_by is not None:
                        break
                    if len(running) >= self.concurrency or self._limit_broken(
                            round_number, upcoming_turns=1):
                        break
                    if name in ran or self.board.queue_depth(name) == 0:
                        continue
                    ran.add(name)
                    self.turns += 1  # counted when scheduled: the budget sees it at once
                    running[asyncio.ensure_future(
                        self._run_turn(self.members[name], round_number))] = name
                if not running:
                    return bool(ran)
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    future.result()
        finally:
            for future in running:
                future.cancel()

    async def run(self, *, resume: bool = False) -> RunOutcome:
        stop = asyncio.Event()
        streams: list[asyncio.Task[None]] = []
        if self.options.use_stream:
            # One listener per gateway (one for the whole team without federation); every
            # one routes by session id to the same members.
            for client in {id(m.cm): m.cm for m in self.members.values()}.values():
                client.on_app_server_request("item.tool.call")(self.calls.on_signal)
                client.on_event("tool_call_resolved")(self.calls.on_resolved)
                streams.append(asyncio.create_task(client.stream.run_forever(stop_event=stop)))
        try:
            # The initial tasks (S7), keyed so that a run killed at any point queues them
            # exactly once.
            for number, task in enumerate(self.team.tasks):
                self.board.queue_work(task.owner, task.text, by=SYSTEM_MEMBER,
                                      key=f"initial:{number}")
            reattached = await self._open_sessions(resume)
            info = self.board.info()
            first_round = 1
            if resume:
                await self._recover(reattached)
                first_round = max(1, info.round)
            self._changed()
            last_round = info.round if resume else 0
            reason = f"round limit ({self.rounds}) reached"
            for round_number in range(first_round, self.rounds + 1):
                if self.team.completion.holds(self.board, self._facts(last_round)):
                    reason = "completion criteria hold"
                    break
                broken = self._limit_broken(round_number)
                if broken:
                    reason = f"limit reached before round {round_number}: {broken[0]}"
                    break
                self.board.update_run(round=round_number)
                self._changed()
                progressed = await self._round(round_number)
                last_round = round_number
                if self.stopped_by is not None:
                    break
                if not progressed:
                    reason = "a round made no progress"
                    break

            missing = self.team.completion.missing(self.board, self._facts(last_round))
            # Whatever the criteria say, a run in which someone else answered the members'
            # tool calls is not a success: what the board holds may rest on forged input.
            forged = [f for f in self.answer_faults if f.kind != "expired"]
            if forged:
                first = forged[0]
                missing.append(f"{len(forged)} tool-call answer(s) came from another client"
                               f" (first: {first.member} {first.tool} #{first.request_id})")
            status: RunStatus = "complete" if not missing else "incomplete"
            if status == "complete":
                reason = "completion criteria hold"
            elif self.stopped_by is not None:
                status, reason = "failed", f"stopped early: {self.stopped_by}"
            self.board.update_run(status=status, reason=reason)
        finally:
            stop.set()
            self.calls.cancel_all()
            for stream in streams:
                stream.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await stream
            for client in self._own_clients:
                with contextlib.suppress(Exception):
                    await client.close()
        self._changed()
        snapshot = self.board.snapshot(limit=12)
        self.printer.final(snapshot)
        return RunOutcome(self.board.run_id, status, reason, missing, last_round, self.turns,
                          self.calls.count, snapshot, list(self.turn_log),
                          list(self.answer_faults))


class _DeadlinePassed(Exception):
    def __init__(self, tool: str, deadline: float) -> None:
        super().__init__(tool)
        self.tool = tool
        self.deadline = deadline


def _count(listing: Any) -> int:
    data = listing.get("data") if isinstance(listing, dict) else None
    return len(data) if isinstance(data, list) else 0
