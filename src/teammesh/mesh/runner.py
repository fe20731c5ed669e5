"""The team runner (S6–S11, A1, B1, B2): one session per member, one stream listener per
gateway, a polling fallback sharing the client's per-session dedupe, event-driven sync
points, the seed's rounds and stopping rules, and resume after a crash.

This is the thin front: it binds the members to their skills and clients, then runs the
parts, each its own module, over one shared `RunState` (`run_state.py`):

    run_settings.py   which flag, member, team or default value applies (resolved once)
    run_clients.py    one client per gateway a member's session lives on (federation)
    run_sessions.py   every member's session, created or re-attached on resume
    run_turn.py       one turn: send, await (run_await.py: drain, deadline), settle
    run_recovery.py   after a crash: finish or settle the open turns, requeue stray claims
    run_rounds.py     the rounds, until the completion criteria hold or a rule stops them

Crash safety comes from the board: every turn is recorded before it is sent (a slot whose
token its claims carry), its gateway turn id as soon as it is known, and every tool-call
mutation under its request id. A resumed runner re-attaches to the members' sessions, waits
out (and answers) turns that were running when the old runner died, settles them, sends
lost claims back to the queue, and carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from teammesh.client import AsyncCodexManager
from teammesh.mesh.board import TeamBoard
from teammesh.mesh.board.initial_tasks import queue_initial_tasks
from teammesh.mesh.board.pricing import cost_of_turns
from teammesh.mesh.board.protocol import RunStatus
from teammesh.mesh.budgets import usd_blind_spot
from teammesh.mesh.calls import MemberState, ToolCalls
from teammesh.mesh.command_approvals import CommandApprovals
from teammesh.mesh.output import Printer
from teammesh.mesh.policies import ApprovalGate, guards_for
from teammesh.mesh.run_clients import EndpointClients
from teammesh.mesh.run_options import RunOptions
from teammesh.mesh.run_outcome import RunOutcome, TurnRecord
from teammesh.mesh.run_recovery import recover
from teammesh.mesh.run_rounds import facts, run_rounds
from teammesh.mesh.run_sessions import open_sessions
from teammesh.mesh.run_settings import resolve_settings
from teammesh.mesh.run_state import RunState
from teammesh.mesh.run_transcripts import save_transcripts
from teammesh.mesh.run_turn import TurnDriver
from teammesh.mesh.run_usage import USAGE_EVENT, UsageRecorder, launch_model
from teammesh.mesh.run_workspaces import open_team_work, report_work
from teammesh.mesh.skills import MemberSkills
from teammesh.mesh.team import Member, Team
from teammesh.mesh.usage_text import turns_usage
from teammesh.tracing.run_spans import traced_run
from teammesh.wire import TOOL_CALL_SIGNAL, TURN_COMPLETED_SIGNAL

# All the runner reads from a stream: its call and resolution handlers, turn waits and each
# turn's token usage. A gateway that grants `eventTypes` sends it nothing else
# (docs/gateway.md).
RUNNER_STREAM_EVENTS = frozenset({TOOL_CALL_SIGNAL, "tool_call_resolved", TURN_COMPLETED_SIGNAL,
                            USAGE_EVENT})

# The names callers import from here (the runner's face).
__all__ = ["RUNNER_STREAM_EVENTS", "RunOptions", "RunOutcome", "TeamRunner", "TurnRecord"]


class TeamRunner:
    def __init__(self, cm: AsyncCodexManager, team: Team, board: TeamBoard,
                 options: RunOptions | None = None, printer: Printer | None = None,
                 clients: Mapping[str, AsyncCodexManager] | None = None) -> None:
        if board.roster != team.roster:
            raise ValueError(f"the board's team ({', '.join(board.roster)}) is not this team"
                             f" ({', '.join(team.roster)})")
        options = options or RunOptions()
        printer = printer or Printer()
        settings = resolve_settings(team, rounds=options.rounds,
                                    turn_timeout=options.turn_timeout,
                                    concurrency=options.concurrency)
        self.clients = EndpointClients(cm, (m.endpoint for m in team.members), clients)
        self.state = RunState(team=team, board=board, options=options, printer=printer,
                              settings=settings, calls=ToolCalls(
                                  board, printer,
                                  ApprovalGate(team.policies.approvals, board, options.ask,
                                               settings.approval_timeout,
                                               board_answers=options.board_answers),
                                  self._changed))
        for spec in team.members:
            self.state.members[spec.name] = self._bind(spec)
        self.driver = TurnDriver(self.state, cm)
        self.usage = UsageRecorder(board, self.state.calls.by_session, self.state.usage,
                                   launch_model(board.info().meta))
        if options.on_state is not None:
            options.on_state(self.state)  # the web board's live view of this run

    # -- members and their skills ----------------------------------------------------------

    def _bind(self, spec: Member) -> MemberState:
        policies = self.state.team.policies
        guards = guards_for(spec.name, max_chain=policies.max_chain,
                            max_bounces=policies.max_bounces)
        member: MemberState
        skills = MemberSkills(
            member=spec.name, board=self.state.board,
            turn_token=lambda: member.active.token if member.active else None,
            handoff_targets=spec.targets, handoff_guards=guards,
        )
        client = self.clients.for_endpoint(spec.endpoint)
        member = MemberState(spec=spec, skills=skills, cm=client)
        return member

    def _changed(self) -> None:
        self.state.changed()

    # -- the run ---------------------------------------------------------------------------

    def start_streams(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """One listener per gateway (one for the whole team without federation); every one
        routes by session id to the same members (none without `use_stream`); and the
        answerer of the runtime's command approvals."""
        state = self.state
        streams: list[asyncio.Task[None]] = []
        if state.options.use_stream:
            for client in {id(m.cm): m.cm for m in state.members.values()}.values():
                client.on_app_server_request("item.tool.call")(state.calls.on_signal)
                client.on_event("tool_call_resolved")(state.calls.on_resolved)
                client.on_event(USAGE_EVENT)(self.usage.on_usage)
                client.stream.event_types = RUNNER_STREAM_EVENTS
                streams.append(asyncio.create_task(client.stream.run_forever(stop_event=stop)))
        # The runtime's own approvals (codex asking before a command), if a member's policy
        # lets it ask: answered by the team's rules (`command_approvals.py`).
        streams.append(asyncio.create_task(CommandApprovals(state).run(stop)))
        return streams

    async def run(self, *, resume: bool = False) -> RunOutcome:
        # The run's root span (docs/tracing.md); the stream listeners started inside it
        # inherit it.
        return await traced_run(self.state.team.name, self.state.board.run_id, resume,
                                self._run(resume=resume))

    async def _run(self, *, resume: bool) -> RunOutcome:
        state = self.state
        board = state.board
        stop = asyncio.Event()
        streams = self.start_streams(stop)
        try:
            # The initial tasks (S7), keyed so that a run killed at any point queues them
            # exactly once; one commit for all of them (mesh/board/initial_tasks.py).
            queue_initial_tasks(board, [(t.owner, t.text) for t in state.team.tasks])
            await open_team_work(state)  # before the sessions: their cwd is a worktree
            state.usage.seed(board.turn_entries())  # a resumed run's earlier usage counts
            reattached = await open_sessions(state, resume=resume)
            info = board.info()
            first_round = 1
            if resume:
                await recover(state, self.driver, reattached)
                first_round = max(1, info.round)
            state.changed()
            end = await run_rounds(state, self.driver, first_round=first_round,
                                   last_round=info.round if resume else 0)
            last_round, reason = end.last_round, end.reason
            if (blind := usd_blind_spot(state.team.policies, state.usage)) is not None:
                state.printer.note(blind)
            missing = state.team.completion.missing(board, facts(state, last_round))
            # Whatever the criteria say, a run in which someone else answered the members'
            # tool calls is not a success: what the board holds may rest on forged input.
            forged = [f for f in state.answer_faults if f.kind != "expired"]
            if forged:
                first = forged[0]
                missing.append(f"{len(forged)} tool-call answer(s) came from another client"
                               f" (first: {first.member} {first.tool} #{first.request_id})")
            status: RunStatus = "complete" if not missing else "incomplete"
            if status == "complete":
                reason = "completion criteria hold"
            elif state.stopped_by is not None:
                status, reason = "failed", f"stopped early: {state.stopped_by}"
            board.update_run(status=status, reason=reason)
            await save_transcripts(state)
        finally:
            stop.set()
            state.calls.cancel_all()
            for stream in streams:
                stream.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await stream
            await self.clients.close_opened()
        state.changed()
        snapshot = board.snapshot(limit=12)
        state.printer.final(snapshot)
        report_work(state)  # where the integrated work is, if the team has a repository
        recorded = board.turn_entries()
        usage = turns_usage(recorded)
        return RunOutcome(board.run_id, status, reason, missing, last_round, state.turns,
                          state.calls.count, snapshot, list(state.turn_log),
                          list(state.answer_faults), usage,
                          None if usage is None else cost_of_turns(recorded))
