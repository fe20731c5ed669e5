"""Distributed workers on one PostgreSQL board (docs/distributed.md), on a throwaway local
server:

- makespan of a 32-member team (two tasks each, every turn thinking 200 ms per model step)
  driven by 1, 2 and 4 `teammesh worker` processes, each with its own embedded gateway,
  against the critical path measured in the same run (one member's two turns, alone);
  makespan is read from the run record (first turn start to last turn end), so process and
  gateway start-up are not in it;
- claims per second with 1, 4 and 16 concurrent workers on one database: each worker a
  thread with its own connection and its own member's lease, each claim a lease-checked
  turn open, a `team_pull_work` and a settle;
- wake-up latency: from a handoff's commit (the `team_queue_work` call's end in the run
  record) to the receiving worker's turn start, over the six-member team on three workers.

The machine is shared: figures are medians, noisy; ratios are against floors measured in
the same run.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.pg_paths import generic_ops
from bench.postgres_server import postgres_dsn
from bench.report import Config, Section
from bench.stats import median, percentile, ratio
from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, create_board, open_board, pg_locks
from teammesh.mesh.board.leases import PgLeases, bind_worker
from teammesh.mesh.teamfile import load_team, team_from_text

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))
SIX = Path(__file__).resolve().parents[1] / "teams" / "six.toml"
THINK = "playbook?think_ms=200"
SMOKE_THINK = "playbook?think_ms=20"  # smoke: the same runs, shorter model steps


def wide_team(members: int, tasks_each: int) -> str:
    """A team file: `members` independent members, `tasks_each` tasks queued for each."""
    lines = ['[team]', 'name = "wide"', f"rounds = {tasks_each + 2}", "turn_timeout = 120",
             f"concurrency = {members}", ""]
    for i in range(members):
        lines += ["[[members]]", f'name = "m{i:03d}"', 'role = "work the queue"',
                  'steps = ["Call team_pull_work once.", "If there is a task, call'
                  ' team_publish_artifact with a one-sentence summary of your work."]', ""]
    for i in range(members):
        for n in range(tasks_each):
            lines += ["[[tasks]]", f'owner = "m{i:03d}"', f'text = "task {n} of m{i:03d}"', ""]
    lines += ["[completion]", "queues_empty = true", ""]
    return "\n".join(lines)


def _new_run(dsn: str, text: str) -> str:
    team = team_from_text(text, "<bench>")
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    create_board(run_id=run_id, team=team.name, roster=team.roster, path=dsn,
                 max_attempts=team.policies.max_attempts, team_text=text).close()
    return run_id


def _workers(dsn: str, run_id: str, slices: list[str], cwd: str,
             extra: tuple[str, ...] = (), runtime: str = THINK) -> None:
    procs = [subprocess.Popen([TEAMMESH, "worker", "--board", dsn, "--run", run_id,
                               "--members", members, "--runtime", runtime, *extra],
                              cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for members in slices]
    for proc in procs:
        if proc.wait(timeout=600) != 0:
            raise RuntimeError(f"a worker of run {run_id} exited {proc.returncode}")


def _makespan(dsn: str, run_id: str) -> float:
    board = open_board(dsn, run_id)
    try:
        turns = [t for t in board.run_record().turns if t.started_at and t.ended_at]
        assert board.info().status == "complete", board.info().reason
    finally:
        board.close()
    return max(t.ended_at or 0.0 for t in turns) - min(t.started_at or 0.0 for t in turns)


def _slices(roster: tuple[str, ...], workers: int) -> list[str]:
    return [",".join(roster[i::workers]) for i in range(workers)]


@contextlib.contextmanager
def run_wide_locks() -> Iterator[None]:
    """The store as it was before member locks: every write takes the run's lock
    exclusively, and no counter lock, on the generic statements (the A of an A/B in one
    run; the claimers are threads of this process)."""
    saved = pg_locks.take_write_locks, pg_locks.take_counter_lock

    def whole_run(conn: Any, run_id: str, members: tuple[str, ...] | None) -> None:
        saved[0](conn, run_id, None)

    def no_counter_lock(conn: Any, run_id: str, counter: str) -> None:
        return None

    pg_locks.take_write_locks, pg_locks.take_counter_lock = whole_run, no_counter_lock
    try:
        with generic_ops():  # the server functions take member locks of their own
            yield
    finally:
        pg_locks.take_write_locks, pg_locks.take_counter_lock = saved


def _claims_per_second(dsn: str, workers: int, per_worker: int) -> float:
    members = tuple(f"c{i:02d}" for i in range(workers))
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    seed = create_board(run_id=run_id, team="claims", roster=members, path=dsn)
    for member in members:
        for n in range(per_worker):
            seed.queue_work(member, f"task {n}", by=SYSTEM_MEMBER)
    seed.close()
    start = threading.Barrier(workers + 1)
    boards: list[TeamBoard] = []
    leases: list[PgLeases] = []
    for member in members:
        worker = f"bench-{member}"
        board = open_board(dsn, run_id)
        bind_worker(board._store, worker)
        lease = PgLeases(dsn, run_id, worker, seconds=600)
        lease.take(member)
        boards.append(board)
        leases.append(lease)

    def claim(board: TeamBoard, member: str) -> None:
        start.wait()
        for _ in range(per_worker):
            slot = board.open_turn(member, 1)
            board.pull_work(member, token=slot.token)
            board.settle_turn(slot.token, ok=True)

    threads = [threading.Thread(target=claim, args=(b, m)) for b, m in zip(boards, members,
                                                                          strict=True)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for closing in (*boards, *leases):
        closing.close()
    return workers * per_worker / elapsed


def _wakeups(dsn: str, run_id: str) -> list[float]:
    """Per handoff: the receiver's next turn start minus the handoff call's end (ms)."""
    board = open_board(dsn, run_id)
    try:
        record = board.run_record()
    finally:
        board.close()
    handoffs = [(c.ended_at, str(c.arguments.get("owner", ""))) for c in record.calls
                if c.tool == "team_queue_work" and c.outcome == "applied" and c.ended_at]
    latencies = []
    for ended, owner in handoffs:
        starts = [t.started_at for t in record.turns
                  if t.member == owner and t.started_at and t.started_at >= ended]
        earlier = [t for t in record.turns if t.member == owner and t.started_at
                   and t.started_at < ended and (t.ended_at or ended) > ended]
        if starts and not earlier:  # the receiver was idle: the wake-up is the wait
            latencies.append((min(starts) - ended) * 1000)
    return latencies


async def run(cfg: Config) -> Section:
    section = Section("distributed", "8. distributed workers (PostgreSQL)")
    members, tasks_each = cfg.pick((32, 2), (4, 1))
    counts = cfg.pick((1, 2, 4), (2,))  # smoke: the floor is one worker already
    think = cfg.pick(THINK, SMOKE_THINK)
    with postgres_dsn(max_connections=300) as dsn, tempfile.TemporaryDirectory() as cwd:
        if dsn is None:
            section.notes.append("skipped: no PostgreSQL server could be started")
            return section
        text = wide_team(members, tasks_each)
        roster = team_from_text(text, "<bench>").roster
        floor_text = wide_team(1, tasks_each)
        repeats = cfg.pick(3, 1)
        critical: list[float] = []
        spans: dict[int, list[float]] = {n: [] for n in counts}
        for _ in range(repeats):  # interleaved: the floor and each size in every repeat
            run_id = _new_run(dsn, floor_text)
            _workers(dsn, run_id, ["*"], cwd, runtime=think)
            critical.append(_makespan(dsn, run_id))
            for n in counts:
                run_id = _new_run(dsn, text)
                _workers(dsn, run_id, _slices(roster, n), cwd, runtime=think)
                spans[n].append(_makespan(dsn, run_id))
        floor = median(critical)
        section.add("critical path (one member's turns alone)", floor, "s", runs=repeats)
        for n in counts:
            value = median(spans[n])
            section.add(f"makespan, {members} members, {n} worker(s)", value, "s",
                        runs=repeats)
            section.add(f"makespan / critical path, {n} worker(s)", ratio(value, floor), "x",
                        runs=repeats)
        per_worker = cfg.pick(200, 20)
        for n in cfg.pick((1, 4, 16), (1, 4)):
            rates: list[float] = []
            before: list[float] = []
            for _ in range(repeats):  # A/B interleaved: member locks, then the old run lock
                rates.append(_claims_per_second(dsn, n, per_worker))
                with run_wide_locks():
                    before.append(_claims_per_second(dsn, n, per_worker))
            section.add(f"claims/s, {n} concurrent worker(s)", median(rates), "/s",
                        runs=repeats)
            section.add(f"claims/s, {n} worker(s), every write under the run lock (before)",
                        median(before), "/s", runs=repeats)
        # The six members on three workers, two each. With the team's concurrency (1) a
        # worker runs one turn at a time, so a handoff to a member whose co-worker member is
        # mid-turn waits for that turn (200 ms per model step): queueing, not the wake-up.
        # With --concurrency 2 no receiver queues behind its worker: the wake-up itself.
        six = load_team(SIX)
        for label, extra in (("", ("--concurrency", "2")),
                             (", team's concurrency 1", ())):
            latencies: list[float] = []
            for _ in range(repeats):
                run_id = _new_run(dsn, six.text)
                _workers(dsn, run_id, _slices(six.roster, 3), cwd, extra, think)
                latencies += _wakeups(dsn, run_id)
            if latencies:
                section.add(f"wake-up, handoff commit to turn start{label} (median)",
                            median(latencies), "ms", runs=len(latencies))
                section.add(f"wake-up, handoff commit to turn start{label} (p99)",
                            percentile(latencies, 99), "ms", runs=len(latencies))
        section.notes.append(
            f"each worker its own process and embedded gateway ({think}); makespan from the"
            " run record; claims are lease-checked turn opens + pull + settle, each worker"
            " its own member and connection; members' writes lock their members only"
            " (board/pg_locks.py; the turn open, pull and ok settle are server functions"
            " taking the same locks), 'before' is the same build with every write run-wide"
            " on the generic statements")
    return section
