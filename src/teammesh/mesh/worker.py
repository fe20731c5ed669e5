"""A runner worker: drives the turns of the members whose leases it holds, next to its own
gateway, while other workers on other hosts drive the rest of the same run (PostgreSQL).

It reuses the runner's parts (`runner.py`: members bound to their skills and clients, the
stream listeners, the turn driver, the recovery); what differs is who decides what:

- a member's turn starts only under its lease (`board/leases.py`; the database refuses the
  turn otherwise), renewed by a heartbeat every third of the lease time. A heartbeat that
  cannot reach the database ends the worker: a worker cut from the database is as good as
  dead, and its leases run out for the others to take.
- a member whose lease this worker takes over (its holder died) is re-attached to its
  session when the session's gateway still has it, else given a fresh session; the turn
  the holder left open is finished or settled as lost, and lost claims go back to the
  queue (`run_recovery.recover_turn`, as on resume).
- there are no global rounds: a member takes a turn whenever it has queued work and no
  turn running; its round is its own turn count (the team's round limit caps it).
- run-wide decisions (completion criteria, limits, the end of the run) belong to the
  holder of the coordinator lease, taken only when nothing is running anywhere (one
  snapshot of the run: `board/run_activity.py`), as the single runner judges between rounds.
  It also reports queued work of members no live worker holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

from teammesh.mesh.board import SYSTEM_MEMBER
from teammesh.mesh.board.leases import COORDINATOR, LeaseLost, PgLeases
from teammesh.mesh.board.run_activity import outstanding
from teammesh.mesh.criteria import RunFacts
from teammesh.mesh.run_recovery import recover_turn
from teammesh.mesh.runner import TeamRunner
from teammesh.mesh.sessions import attach_session, create_session
from teammesh.mesh.wakeups import FALLBACK_POLL_SECONDS, Wakeups

# Without wake-up notifications (`wakeups.py`) a worker looks at the board this often.
DEFAULT_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class WorkerOptions:
    members: frozenset[str] | None = None  # None: every member (`--members '*'`)
    poll_seconds: float = DEFAULT_POLL_SECONDS  # without wake-ups
    coordinate: bool = True  # may take the coordinator lease
    wakeups: Wakeups | None = None  # LISTEN/NOTIFY; then polling is only the slow fallback


@dataclass
class WorkerOutcome:
    run_id: str
    status: str
    reason: str
    turns: int  # turns this worker ran
    taken: list[str] = field(default_factory=list)  # members it held at some point


class TeamWorker:
    def __init__(self, runner: TeamRunner, leases: PgLeases,
                 options: WorkerOptions | None = None) -> None:
        self.runner = runner
        self.state = runner.state
        self.leases = leases
        self.options = options or WorkerOptions()
        roster = self.state.team.roster
        wanted = self.options.members
        unknown = sorted(set(wanted or ()) - set(roster))
        if unknown:
            raise ValueError(f"not members of the team: {', '.join(unknown)}")
        self.wanted = [m for m in roster if wanted is None or m in wanted]
        self.epochs: dict[str, int] = {}  # the members held, at the epoch taken
        self.running: dict[str, asyncio.Task[None]] = {}
        self.coordinator = False
        self.taken: list[str] = []
        self._next_beat = 0.0
        self._idle_seen = 0
        self._reported: tuple[str, ...] = ()

    # -- leases ----------------------------------------------------------------------------

    def _beat(self) -> None:
        """Keep or take the leases (one upsert each); drop the members lost meanwhile."""
        now = time.monotonic()
        if now < self._next_beat:
            return
        self._next_beat = now + self.leases.seconds / 3
        for name in self.wanted:
            epoch = self.leases.take(name)
            held = self.epochs.get(name)
            if epoch == held:
                continue
            if held is not None:  # lost it, or someone held it in between: start over
                self._drop(name)
            if epoch is not None:
                self.epochs[name] = epoch
                if name not in self.taken:
                    self.taken.append(name)
                self.running[name] = asyncio.create_task(self._adopt(name))
        if self.options.coordinate:
            self.coordinator = self.leases.take(COORDINATOR) is not None

    def _drop(self, name: str) -> None:
        self.epochs.pop(name, None)
        task = self.running.pop(name, None)
        if task is not None:
            task.cancel()
        self.state.members[name].active = None

    async def _adopt(self, name: str) -> None:
        """The member's session on this worker's gateway, and what its last holder left."""
        state = self.state
        member = state.members[name]
        known = state.board.sessions().get(name)
        session = None
        if known is not None:
            session = await attach_session(member.cm, known, state.calls.register_for(member))
        reattached = session is not None
        if session is None:
            session = await create_session(member.cm, member.spec.session_kwargs(),
                                           f"team-{name}", state.calls.register_for(member))
            state.board.set_session(name, session.session_id)
        member.session = session
        state.calls.by_session[session.session_id] = member
        for slot in state.board.open_turns():
            if slot.member == name:
                await recover_turn(state, self.runner.driver, slot, reattached=reattached,
                                   who="its worker")
        state.board.requeue_stray_claims(name, set())

    # -- turns -----------------------------------------------------------------------------

    def _rounds_of(self) -> Counter[str]:
        return Counter(slot.member for slot in self.state.board.turns())

    def _schedule(self) -> None:
        state = self.state
        if state.stopped_by is not None:
            return
        idle = [n for n in self.wanted if n in self.epochs and n not in self.running]
        ready = [n for n in idle if state.board.queue_depth(n) > 0]
        if not ready:
            return
        done = self._rounds_of()  # read only when a turn may start: it reads every turn
        for name in ready:
            if len(self.running) >= state.settings.concurrency:
                return
            if done[name] >= state.settings.rounds:
                continue
            state.turns += 1
            self.running[name] = asyncio.create_task(self._turn(name, done[name] + 1))

    async def _turn(self, name: str, round_number: int) -> None:
        try:
            await self.runner.driver.run_turn(self.state.members[name], round_number)
        except LeaseLost:
            self.epochs.pop(name, None)  # the next heartbeat sees whether it is ours

    async def _wait(self) -> None:
        """Until a turn ends, a notification wakes this worker, the next heartbeat is due,
        or (the fallback) the poll interval has passed."""
        wakeups = self.options.wakeups
        poll = self.options.poll_seconds if wakeups is None else FALLBACK_POLL_SECONDS
        timeout = max(0.0, min(poll, self._next_beat - time.monotonic()))
        tasks: list[asyncio.Future[None]] = list(self.running.values())
        woken = None
        if wakeups is not None:
            woken = asyncio.ensure_future(wakeups.woken())
            tasks += [woken, wakeups.waiter]
        try:
            done, _ = await asyncio.wait(tasks, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            if woken is not None:
                woken.cancel()
        if wakeups is not None:
            wakeups.consume()
        for name, task in list(self.running.items()):
            if task in done:
                del self.running[name]
                task.result()  # a failure other than a lost lease ends the worker

    # -- run-wide decisions (the coordinator) ---------------------------------------------

    def _coordinate(self) -> None:
        state = self.state
        board = state.board
        completion = state.team.completion
        busy = outstanding(board)
        open_turns = board.open_turns()
        done = self._rounds_of()
        facts = RunFacts(round=max(done.values(), default=0), turns=sum(done.values()),
                         tool_calls=len(board.records()))
        self._report_unowned()
        if open_turns or busy:
            self._idle_seen = 0
        if open_turns:
            return
        if busy == 0:
            self._idle_seen += 1
            if self._idle_seen < 2:  # seen idle twice in a row: a handoff just committed
                return
        if completion.holds(board, facts):
            board.update_run(status="complete", round=facts.round,
                             reason="completion criteria hold")
            return
        if state.stopped_by is not None:
            board.update_run(status="failed", reason=f"stopped early: {state.stopped_by}")
            return
        upcoming = RunFacts(facts.round, facts.turns + 1, facts.tool_calls)
        broken = completion.broken_limits(board, upcoming)
        waiting = [m for m in state.team.roster if board.queue_depth(m) > 0]
        if broken and waiting:
            board.update_run(status="incomplete", round=facts.round,
                             reason=f"limit reached: {broken[0]}")
        elif busy == 0:
            board.update_run(status="incomplete", round=facts.round,
                             reason="no work left and the completion criteria do not hold")
        elif waiting and all(done[m] >= state.settings.rounds for m in waiting):
            board.update_run(status="incomplete", round=facts.round,
                             reason=f"round limit ({state.settings.rounds}) reached")

    def _report_unowned(self) -> None:
        board = self.state.board
        unowned = tuple(m for m in self.leases.unowned(self.state.team.roster)
                        if board.queue_depth(m) > 0)
        if unowned and unowned != self._reported:
            self.state.printer.note(f"no live worker holds {', '.join(unowned)}, which"
                                    " have queued work")
        self._reported = unowned

    # -- the worker ------------------------------------------------------------------------

    async def run(self) -> WorkerOutcome:
        state = self.state
        board = state.board
        stop = asyncio.Event()
        streams = self.runner.start_streams(stop)
        try:
            # Any worker may be the first: the initial tasks are keyed, queued once.
            for number, initial in enumerate(state.team.tasks):
                board.queue_work(initial.owner, initial.text, by=SYSTEM_MEMBER,
                                 key=f"initial:{number}")
            while True:
                info = board.info()
                if info.status != "running" and not self.running:
                    break
                self._beat()
                if info.status == "running":
                    self._schedule()  # first: a woken member's turn waits for nothing
                    if self.coordinator:
                        await asyncio.sleep(0)  # let the new turns open first
                        self._coordinate()
                    state.changed()
                await self._wait()
        finally:
            stop.set()
            for task in self.running.values():
                task.cancel()
            for task in [*self.running.values(), *streams]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            state.calls.cancel_all()
            with contextlib.suppress(Exception):  # a dead connection: the leases expire
                self.leases.release([*self.epochs, COORDINATOR])
            await self.runner.clients.close_opened()
        info = board.info()
        return WorkerOutcome(board.run_id, info.status, info.reason, len(state.turn_log),
                             list(self.taken))
