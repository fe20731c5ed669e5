"""Hostile text and keys through both PostgreSQL paths (board/pg_functions.py and the
generic statements): NUL, a huge summary, odd Unicode, odd request keys and tokens give the
same result or the same refusal, and a replay by request key is still applied once.
(PostgreSQL itself refuses a NUL in a key and a key past a btree entry, on both paths: a
psycopg error, not a BoardRefusal; request keys are the gateway's session and request ids.)"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import psycopg

from teammesh.mesh.board import SYSTEM_MEMBER, BoardRefusal, TeamBoard, create_board
from teammesh.mesh.board.call_notes import CallNote
from teammesh.mesh.board.pg_board import PgTeamBoard
from teammesh.mesh.board.postgres import PostgresStore

ODD = [
    "nul \x00 inside", "\x00", "x" * 300_000, "rtl \u202e evil \u202c", "\u2028\u2029",
    "😀" * 1000, "e\u0301 combining", "\ufeff bom", "\uffff", "tab\tnew\nline", "",
    " ", "'; drop table tasks; --", "\\x00 backslash", "$1 $$ dollar",
]
# A key past a btree entry (~2.7 kB, incompressible) and one that compresses below it.
KEYS = ["k:\x00", "k:" + "y" * 20_000, "k:" + random.Random(7).randbytes(4000).hex(),
        "k:😀", "k:'", "k:$$", "k:\u202e"]


def _board(dsn: str, *, functions: bool) -> TeamBoard:
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    create_board(run_id=run_id, team="t", roster=("docs",), path=dsn).close()
    store = PostgresStore.open(dsn, run_id=run_id)
    return PgTeamBoard(store) if functions else TeamBoard(store)


def _outcome(call: Any) -> Any:
    try:
        return ["ok", call()]
    except BoardRefusal as exc:  # the refusal itself is what must match
        return ["refused", str(exc)]
    except psycopg.Error as exc:
        # The server's own limit (NUL in text, a key past a btree entry): the same class on
        # both paths; its message names a row position and the statement, which differ.
        return ["database", type(exc).__name__]


def _script(board: TeamBoard) -> list[Any]:
    seen: list[Any] = []
    applied: dict[str, Any] = {}  # key -> its first answer: one artifact per key, ever
    for n, text in enumerate(ODD):
        seen.append(_outcome(lambda text=text, n=n: board.queue_work(
            "docs", text, by=SYSTEM_MEMBER, key=f"seed:{n}")))
    for n, key in enumerate(KEYS):
        token = f"tok-{n}"
        note = CallNote(key, "docs", token, "team_pull_work", {}, started_at=1.0)
        seen.append(_outcome(lambda key=key, token=token, note=note: board.pull_work(
            "docs", token=token, key=key, call=note)))
        seen.append(_outcome(lambda key=key, token=token, note=note: board.pull_work(
            "docs", token=token, key=key, call=note)))  # replay: once
        for m, text in enumerate(ODD):
            art = {"kind": text[:50], "summary": text}
            pub_key = f"{key}:pub:{m}"
            note = CallNote(pub_key, "docs", token, "team_publish_artifact", art,
                            started_at=1.0)
            pair = [_outcome(lambda art=art, pub_key=pub_key, token=token,
                             note=note: board.publish_artifact(
                "docs", art["kind"], art["summary"], key=pub_key, token=token, call=note))
                for _ in range(2)]  # the second: a replay by key
            if pair[0][0] == "ok":
                # A replay answers as the key's first call did.
                first = applied.setdefault(pub_key, pair[0])
                assert pair == [first, first], (n, m)
            seen.extend(pair)
    assert len(board.artifacts()) == len(applied)  # exactly once per key
    seen.append([a.public() for a in board.artifacts()])
    seen.append([(t.text, t.status, t.attempts) for t in board.tasks()])
    seen.append(sorted((r.key, r.tool, r.result) for r in board.records()))
    return seen


def test_hostile_text_and_keys_give_the_same_results_on_both_paths(postgres_dsn: str) -> None:
    generic = _board(postgres_dsn, functions=False)
    functions = _board(postgres_dsn, functions=True)
    try:
        left, right = _script(generic), _script(functions)
        assert len(left) == len(right)
        for n, (a, b) in enumerate(zip(left, right, strict=True)):
            assert json.dumps(a, sort_keys=True, default=str) == json.dumps(
                b, sort_keys=True, default=str), n
    finally:
        generic.close()
        functions.close()

