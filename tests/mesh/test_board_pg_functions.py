"""The PostgreSQL board's server functions (migration 9, `board/pg_functions.py`): the same
rules as `TeamBoard`'s generic statements — the same results, records, effects and call log
for the same calls, replays and retried claims included — no double claim with both paths
claiming at once, and a database from before them gains them when opened."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from teammesh.mesh.board import (
    SYSTEM_MEMBER,
    BoardRefusal,
    TeamBoard,
    create_board,
    open_board,
)
from teammesh.mesh.board.call_notes import CallNote
from teammesh.mesh.board.core import effect_key
from teammesh.mesh.board.initial_tasks import queue_initial_tasks
from teammesh.mesh.board.migrations import LATEST
from teammesh.mesh.board.pg_board import PgTeamBoard, arguments_digest
from teammesh.mesh.board.postgres import PostgresStore

ROSTER = ("developer", "docs")


def _same(left: Any, right: Any) -> bool:
    """Equal as JSON, so `true` and `1` (equal in Python) differ."""
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def _run(dsn: str, *, functions: bool) -> tuple[str, TeamBoard]:
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    create_board(run_id=run_id, team="t", roster=ROSTER, path=dsn).close()
    store = PostgresStore.open(dsn, run_id=run_id)
    return run_id, (PgTeamBoard(store) if functions else TeamBoard(store))


def _note(key: str, token: str | None, tool: str, arguments: dict[str, Any]) -> CallNote:
    return CallNote(key, "docs", token, tool, arguments, started_at=1.0)


def _script(board: TeamBoard) -> list[Any]:
    """Every branch of the two operations: claims and an empty queue, replays by key, an
    artifact outside a claim, a retried attempt of a claim (its effect not repeated), a
    second identical publish in one attempt (applied: the next occurrence), and a
    completed member."""
    for n in range(2):
        board.queue_work("docs", f"task {n}", by=SYSTEM_MEMBER, key=f"seed:{n}")
    seen: list[Any] = []
    pull = {"tool": "team_pull_work", "arguments": {}}
    art = {"kind": "note", "summary": "did it"}

    def pulled(key: str, token: str | None) -> None:
        seen.append(board.pull_work("docs", token=token, key=key,
                                    call=_note(key, token, pull["tool"], {})))

    def published(key: str, token: str | None) -> None:
        seen.append(board.publish_artifact("docs", art["kind"], art["summary"], key=key,
                                           token=token,
                                           call=_note(key, token, "team_publish_artifact",
                                                      art)))

    published("s:0", None)  # outside any claim
    pulled("s:1", "t1")
    pulled("s:1", "t1")  # the same request again: replayed
    published("s:2", "t1")
    published("s:2", "t1")  # replayed
    published("s:3", "t1")  # the same call again in this attempt: a second artifact
    seen.append([t.status for t in board.settle_turn("t1", ok=False)])  # back, attempt 2
    pulled("s:4", "t2")  # the retried attempt claims it again
    published("s:5", "t2")  # the first attempt's effect: recorded result, no new artifact
    published("s:6", "t2")  # its second occurrence: also the first attempt's
    published("s:7", "t2")  # a third: new
    pulled("s:8", "t3")
    pulled("s:9", "t4")  # queue empty
    board.mark_done("docs")
    pulled("s:10", "t5")  # completed member
    seen.append(board.pull_work("docs", token=None))  # no key, no note
    seen.append(board.publish_artifact("docs", "k", "no key", token=None))
    return seen


def _state(board: TeamBoard) -> dict[str, Any]:
    calls = [(c.request_key, c.turn_token, c.tool, c.arguments, c.result, c.success,
              c.outcome, c.reason, c.started_at) for c in board.run_record().calls]
    return {
        "tasks": [(t.id - board.tasks()[0].id, t.text, t.status, t.attempts, t.claim_token)
                  for t in board.tasks()],
        "artifacts": [a.public() for a in board.artifacts()],
        "records": sorted((r.key, r.tool, r.result) for r in board.records()),
        "effects": [(e.key.split(":", 1)[1], e.token, e.tool, e.result)
                    for e in board.effects()],
        "calls": calls,
    }


def test_the_functions_keep_the_generic_rules(postgres_dsn: str) -> None:
    _, generic = _run(postgres_dsn, functions=False)
    _, functions = _run(postgres_dsn, functions=True)
    try:
        assert _same(_script(functions), _script(generic))
        assert _same(_state(functions), _state(generic))
    finally:
        generic.close()
        functions.close()


def _turns_script(board: TeamBoard) -> list[Any]:
    """Turns: opened with and without a session, a turn id, ok settles (claims done), a
    stray claim back to the queue at the next open and finally a dead letter, a failed
    settle (the generic way), settling twice, and a token no turn has."""
    for n in range(2):
        board.queue_work("docs", f"task {n}", by=SYSTEM_MEMBER)
    board.set_session("docs", "sess-B")
    seen: list[Any] = []
    first = board.open_turn("docs", 1, session_id="sess-A")
    board.set_turn_id(first.token, "turn-1")
    seen.append(board.pull_work("docs", token=first.token))
    seen.append(board.settle_turn(first.token, ok=True))
    seen.append(board.settle_turn(first.token, ok=True))  # again: nothing
    for round_number in range(2, 6):  # claim, then the next open requeues it: dead at 3
        slot = board.open_turn("docs", round_number, requeue_strays=True)
        seen.append(board.pull_work("docs", token=slot.token))
    last = board.open_turn("docs", 6, requeue_strays=True)
    seen.append(board.settle_turn(last.token, ok=False, reason="boom\nagain"))
    seen.append(board.settle_turn("docs.r9.nothere", ok=True))
    seen.append(board.settle_turn(last.token, ok=True))  # already failed: stays failed
    return [[(t.text, t.status, t.attempts) for t in r] if isinstance(r, list) else r
            for r in seen]


def _turn_state(board: TeamBoard) -> dict[str, Any]:
    record = board.run_record()
    tokens = {t.token: n for n, t in enumerate(record.turns)}
    return {
        "turns": [(t.member, t.round, t.turn_id, t.session_id, t.state, t.reason,
                   t.started_at is not None, t.ended_at is not None) for t in record.turns],
        "tasks": [(t.text, t.status, t.attempts, tokens.get(t.claim_token or "", None))
                  for t in board.tasks()],
    }


def test_turns_open_and_settle_as_the_generic_rules_do(postgres_dsn: str) -> None:
    _, generic = _run(postgres_dsn, functions=False)
    _, functions = _run(postgres_dsn, functions=True)
    try:
        assert _same(_turns_script(functions), _turns_script(generic))
        assert _same(_turn_state(functions), _turn_state(generic))
    finally:
        generic.close()
        functions.close()


def _initial_script(board: TeamBoard) -> dict[str, Any]:
    """Initial tasks queued, queued again (a resumed run: nothing twice), then again with
    one more after the owner completed (the refusal recorded, nothing queued for it), and
    a text `queue_work` refuses (all or nothing: none of that batch queued)."""
    first = [("docs", " task one "), ("developer", "task two"), ("docs", "task three")]
    queue_initial_tasks(board, first)
    queue_initial_tasks(board, first)
    board.mark_done("developer")
    queue_initial_tasks(board, [*first, ("developer", "task four")])
    with pytest.raises(BoardRefusal):
        queue_initial_tasks(board, [*first, ("docs", "task five"), ("docs", "   ")])
    return {
        "tasks": [(t.owner, t.text, t.queued_by, t.status, t.chain, t.parent_id)
                  for t in board.tasks()],
        "records": sorted((r.key, r.member, r.tool, r.result) for r in board.records()),
    }


def test_initial_tasks_are_queued_as_the_generic_rules_do(postgres_dsn: str) -> None:
    _, generic = _run(postgres_dsn, functions=False)
    _, functions = _run(postgres_dsn, functions=True)
    try:
        assert _same(_initial_script(functions), _initial_script(generic))
    finally:
        generic.close()
        functions.close()


def test_the_effect_key_digest_is_the_cores() -> None:
    arguments = {"kind": "note", "summary": "ü, \"quoted\""}
    assert effect_key(7, "docs", "team_publish_artifact", arguments, 2) == (
        f"task7:docs:team_publish_artifact:{arguments_digest(arguments)}:2")


def test_both_paths_claiming_at_once_never_claim_twice(postgres_dsn: str) -> None:
    """Claimers on the functions and on the generic statements (a runner of the previous
    version) take the same member lock: every task is claimed exactly once."""
    run_id, seeder = _run(postgres_dsn, functions=True)
    for n in range(80):
        seeder.queue_work("docs", f"task {n}", by=SYSTEM_MEMBER)
    seeder.close()
    claimed: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def claimer(index: int) -> None:
        store = PostgresStore.open(postgres_dsn, run_id=run_id)
        board = PgTeamBoard(store) if index % 2 else TeamBoard(store)
        mine: list[str] = []
        start.wait()
        for attempt in range(1000):
            task = board.pull_work("docs", token=f"c{index}", key=f"c{index}:{attempt}")
            if task["task"] is None:
                break
            mine.append(task["task"])
        board.close()
        with lock:
            claimed.extend(mine)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(claimed) == sorted(f"task {n}" for n in range(80))


@pytest.fixture
def database_at_8(postgres_dsn: str) -> Iterator[str]:
    """A database whose board is at schema version 8: made by today's code, then the
    functions dropped and version 9 forgotten, as a board of the previous release is."""
    name = f"v8_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    dsn = f"{postgres_dsn.rpartition('/')[0]}/{name}"
    create_board(run_id="run-old", team="t", roster=ROSTER, path=dsn).close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for function in ("teammesh_pull_work", "teammesh_publish_artifact",
                         "teammesh_note_call", "teammesh_member_locks"):
            conn.execute(f"DROP FUNCTION {function}")
        conn.execute("DELETE FROM teammesh_schema_version WHERE version >= 9")
    yield dsn
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_a_board_from_before_the_functions_gains_them(database_at_8: str) -> None:
    assert LATEST == 9
    board = open_board(database_at_8, "run-old")
    try:
        board.queue_work("docs", "old task", by=SYSTEM_MEMBER)
        assert board.pull_work("docs", token="t", key="k1")["task"] == "old task"
        published = board.publish_artifact("docs", "note", "done", token="t", key="k2")
        assert published == {"artifactCount": 1, "artifact": {
            "member": "docs", "kind": "note", "summary": "done"}}
    finally:
        board.close()
    with psycopg.connect(database_at_8) as conn:
        versions = [r[0] for r in conn.execute(
            "SELECT version FROM teammesh_schema_version ORDER BY 1")]
    assert versions == list(range(1, 10))
