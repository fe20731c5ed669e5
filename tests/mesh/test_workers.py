"""A team across machines: `teammesh worker` processes, each with its own embedded gateway,
drive the six-member team on one PostgreSQL board. A worker SIGKILLed mid-turn, or cut from
the database on the server side, loses its members to the others within the lease time;
the run completes with no task lost, no effect applied twice, the same board as a one-worker
run's, and never two turns of one member at once."""

from __future__ import annotations

import collections
import itertools
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from teammesh.mesh.board import TeamBoard, create_board, open_board
from teammesh.mesh.teamfile import load_team

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))
SIX = Path(__file__).resolve().parents[2] / "teams" / "six.toml"
LEASE = 2.0  # seconds: the takeover time after a worker's death
THINK = "playbook?think_ms=400"  # turns long enough to be killed in


def _eventually(check: Callable[[], Any], within: float = 120.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.05)


def _new_run(dsn: str) -> str:
    team = load_team(SIX)
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    create_board(run_id=run_id, team=team.name, roster=team.roster, path=dsn,
                 max_attempts=team.policies.max_attempts, team_text=team.text).close()
    return run_id


def _worker(dsn: str, run_id: str, members: str, tmp: Path, name: str
            ) -> subprocess.Popen[str]:
    # The application name tells this worker's connections apart on the server.
    board = f"{dsn}?application_name={name}"
    return subprocess.Popen(
        [TEAMMESH, "worker", "--board", board, "--run", run_id, "--members", members,
         "--lease-seconds", str(LEASE), "--runtime", THINK],
        cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def board_of(postgres_dsn: str) -> Iterator[Callable[[str], TeamBoard]]:
    opened: list[TeamBoard] = []

    def open_it(run_id: str) -> TeamBoard:
        opened.append(open_board(postgres_dsn, run_id))
        return opened[-1]

    yield open_it
    for board in opened:
        board.close()


def _holders(dsn: str, run_id: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT member, holder FROM teammesh_leases WHERE run_id = %s"
                            " AND expires_at > clock_timestamp()", (run_id,)).fetchall()
    return {member: holder for member, holder in rows}


def _shape(board: TeamBoard) -> tuple[Any, ...]:
    """What must be equal to a one-worker run's: the artifacts, the tasks each member did,
    who completed. Not the handoffs a member never needed: when a kill delays a builder's
    retry until the tester and the writer have completed, its handoffs to them are refused
    (`owner_completed`) instead of queued and then cleared, as in an uninterrupted run."""
    artifacts = collections.Counter((a.member, a.kind) for a in board.artifacts())
    done = collections.Counter(t.owner for t in board.tasks() if t.status == "done")
    return artifacts, done, sorted(board.completed())


def _check_sound(board: TeamBoard) -> None:
    info = board.info()
    assert info.status == "complete", info.reason
    # No task lost: nothing left queued or claimed, nothing dead-lettered.
    assert {t.status for t in board.tasks()} <= {"done", "cleared"}
    # No effect applied twice: one artifact of each kind per member.
    authors = collections.Counter(a.member for a in board.artifacts()
                                  if a.kind != "completion_note")
    assert authors == {m: 1 for m in ("architect", "backend", "frontend", "tester",
                                      "writer", "lead")}
    # Never two turns of one member at once (as recorded by the turns themselves).
    by_member: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    for turn in board.run_record().turns:
        if turn.started_at is not None and turn.ended_at is not None:
            by_member[turn.member].append((turn.started_at, turn.ended_at))
    for spans in by_member.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end


def _reference(postgres_dsn: str, tmp: Path, board_of: Callable[[str], TeamBoard]
               ) -> tuple[Any, ...]:
    run_id = _new_run(postgres_dsn)
    alone = _worker(postgres_dsn, run_id, "*", tmp, "alone")
    out, _ = alone.communicate(timeout=240)
    assert alone.returncode == 0, out
    board = board_of(run_id)
    _check_sound(board)
    return _shape(board)


def _three_workers(dsn: str, run_id: str, tmp: Path) -> list[subprocess.Popen[str]]:
    """w1 and w2 hold two members each before w3 (any member) starts: w3 gets the rest,
    and whatever a dead worker held."""
    first = _worker(dsn, run_id, "architect,backend", tmp, "w1")
    second = _worker(dsn, run_id, "frontend,tester", tmp, "w2")
    _eventually(lambda: len(_holders(dsn, run_id)) >= 4)
    third = _worker(dsn, run_id, "*", tmp, "w3")
    return [first, second, third]


@pytest.mark.timeout(600)
def test_a_worker_killed_mid_turn_loses_its_members_to_another(
        postgres_dsn: str, tmp_path: Path, board_of: Callable[[str], TeamBoard]) -> None:
    reference = _reference(postgres_dsn, tmp_path, board_of)
    run_id = _new_run(postgres_dsn)
    workers = _three_workers(postgres_dsn, run_id, tmp_path)
    board = board_of(run_id)
    try:
        # w1's member backend is in a turn: kill w1 there.
        _eventually(lambda: any(s.member == "backend" for s in board.open_turns()))
        workers[0].kill()
        workers[0].wait(timeout=30)
        outs = [w.communicate(timeout=300)[0] for w in workers[1:]]
    finally:
        for w in workers:
            w.kill()
    assert [w.returncode for w in workers[1:]] == [0, 0], outs
    _check_sound(board)
    assert _shape(board) == reference
    backend = [t for t in board.run_record().turns if t.member == "backend"]
    assert backend[0].state == "lost" and "its worker stopped" in backend[0].reason
    assert backend[-1].state == "ok"
    assert "backend" in outs[1].split("members taken:")[-1]  # w3 took it over


@pytest.mark.timeout(600)
def test_a_worker_cut_from_the_database_behaves_like_its_death(
        postgres_dsn: str, tmp_path: Path, board_of: Callable[[str], TeamBoard]) -> None:
    run_id = _new_run(postgres_dsn)
    workers = _three_workers(postgres_dsn, run_id, tmp_path)
    board = board_of(run_id)
    try:
        _eventually(lambda: any(s.member in ("frontend", "tester")
                                for s in board.open_turns()))
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE application_name = 'w2'")
        cut_out, _ = workers[1].communicate(timeout=120)
        outs = [w.communicate(timeout=300)[0] for w in (workers[0], workers[2])]
    finally:
        for w in workers:
            w.kill()
    assert workers[1].returncode == 5, cut_out  # lost the database: stops like a death
    assert "lost the database" in cut_out
    assert [workers[0].returncode, workers[2].returncode] == [0, 0], outs
    _check_sound(board)


@pytest.mark.timeout(600)
def test_teammesh_run_starts_the_run_as_its_first_worker(
        postgres_dsn: str, tmp_path: Path, board_of: Callable[[str], TeamBoard]) -> None:
    starter = subprocess.Popen(
        [TEAMMESH, "run", str(SIX), "--board", postgres_dsn, "--members",
         "architect,backend,frontend", "--runtime", THINK],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert starter.stdout is not None
    first = starter.stdout.readline()
    assert " on run " in first, first
    run_id = first.split(" on run ")[1].split()[0]
    joiner = _worker(postgres_dsn, run_id, "*", tmp_path, "joiner")
    try:
        joined, _ = joiner.communicate(timeout=300)
        rest, _ = starter.communicate(timeout=300)
    finally:
        starter.kill()
        joiner.kill()
    assert (starter.returncode, joiner.returncode) == (0, 0), (first + rest, joined)
    _check_sound(board_of(run_id))
    taken = joined.split("members taken:")[-1]
    assert "lead" in taken and "architect" not in taken


def test_members_needs_a_postgres_board(tmp_path: Path) -> None:
    board = tmp_path / "b.sqlite"
    proc = subprocess.run([TEAMMESH, "run", "--board", str(board), "--members", "*"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--members needs a PostgreSQL --board" in proc.stderr
    assert not board.exists()
    proc = subprocess.run([TEAMMESH, "worker", "--board", str(board), "--run", "r1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "must be a PostgreSQL URL" in proc.stderr


def test_a_worker_on_an_unknown_run_or_member_is_refused(postgres_dsn: str,
                                                        tmp_path: Path) -> None:
    proc = subprocess.run([TEAMMESH, "worker", "--board", postgres_dsn, "--run", "run-nope"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "run run-nope is not on the board" in proc.stderr
    run_id = _new_run(postgres_dsn)
    proc = subprocess.run([TEAMMESH, "worker", "--board", postgres_dsn, "--run", run_id,
                           "--members", "lead,nobody"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not members of the team: nobody" in proc.stdout + (
        proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr
