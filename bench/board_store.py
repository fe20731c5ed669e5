"""6. Board store: claims and acknowledgements per second on the SQLite board and on the
PostgreSQL board (a throwaway local server, when its binaries are installed), with N
concurrent claimers — threads (one connection each) and processes — all claiming from one
member's queue of T tasks, and a check of zero double claims.

A claim is what a turn does: open a turn slot, then `team_pull_work` under that turn's token
(two write transactions). An acknowledgement settles the turn `ok`, which marks its claim done
(one write transaction). Claims run first (all claimers at once), then acknowledgements.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from bench.pg_paths import classic
from bench.postgres_server import postgres_dsn
from bench.report import Config, Section
from bench.stats import median
from teammesh.mesh.board import create_board, open_board

MEMBER = "worker"


class _Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


def _claimer(location: str, run_id: str, index: int, start: _Barrier, middle: _Barrier,
             end: _Barrier, sink: Callable[[list[str]], None]) -> None:
    board = open_board(location, run_id)
    claimed: list[tuple[str, str]] = []  # (turn token, task text)
    try:
        start.wait()
        attempt = 0
        while True:
            slot = board.open_turn(MEMBER, 1)
            attempt += 1
            result = board.pull_work(MEMBER, token=slot.token, key=f"c{index}:{attempt}")
            if result.get("task") is None:
                board.settle_turn(slot.token, ok=True)
                break
            claimed.append((slot.token, str(result["task"])))
        middle.wait()
        for token, _text in claimed:
            board.settle_turn(token, ok=True)
        end.wait()
    finally:
        board.close()
    sink([text for _token, text in claimed])


def _process_claimer(location: str, run_id: str, index: int, start: _Barrier,
                     middle: _Barrier, end: _Barrier, results: Any) -> None:
    _claimer(location, run_id, index, start, middle, end, results.put)


def _prepare(location: str, run_id: str, tasks: int) -> None:
    board = create_board(run_id=run_id, team="bench", roster=(MEMBER,), path=location)
    for number in range(tasks):
        board.queue_work(MEMBER, f"task {number}", by="system", key=f"initial:{number}")
    board.close()


def _verify(location: str, run_id: str, claims: list[list[str]], tasks: int) -> int:
    """Double claims found: the same task handed to two claims, or fewer/more claims than
    tasks, or a task left not done on the board."""
    every = [text for batch in claims for text in batch]
    doubles = len(every) - len(set(every))
    board = open_board(location, run_id)
    try:
        records = board.tasks()
    finally:
        board.close()
    not_done = sum(1 for t in records if t.status != "done")
    if len(set(every)) != tasks or not_done:
        raise RuntimeError(f"board lost work: {len(set(every))} of {tasks} claimed,"
                           f" {not_done} not done")
    return doubles


def measure(kind: str, claimers: int, tasks: int, dsn: str | None = None
            ) -> dict[str, float]:
    """One run on a fresh board: a new SQLite file, or a new run in the PostgreSQL database."""
    with tempfile.TemporaryDirectory(prefix="teammesh-bench-store-") as tmp:
        location = dsn or str(Path(tmp) / "board.sqlite")
        run_id = f"bench-{uuid.uuid4().hex[:12]}"
        _prepare(location, run_id, tasks)
        claims: list[list[str]] = []
        workers: list[Any]
        if kind == "threads":
            start, middle, end = (threading.Barrier(claimers + 1) for _ in range(3))
            lock = threading.Lock()

            def sink(batch: list[str]) -> None:
                with lock:
                    claims.append(batch)

            workers = [threading.Thread(target=_claimer,
                                        args=(location, run_id, i, start, middle, end, sink))
                       for i in range(claimers)]
        else:
            context = multiprocessing.get_context("spawn")
            start, middle, end = (context.Barrier(claimers + 1) for _ in range(3))
            queue = context.Queue()
            workers = [context.Process(target=_process_claimer,
                                       args=(location, run_id, i, start, middle, end, queue))
                       for i in range(claimers)]
        for worker in workers:
            worker.start()
        start.wait(timeout=120)
        began = time.perf_counter()
        middle.wait(timeout=600)
        claimed = time.perf_counter()
        end.wait(timeout=600)
        acked = time.perf_counter()
        if kind == "processes":
            claims = [queue.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
        doubles = _verify(location, run_id, claims, tasks)
    return {"claims_per_s": tasks / (claimed - began), "acks_per_s": tasks / (acked - claimed),
            "double_claims": doubles}


def _pg_ab(section: Section, dsn: str, tasks: int, repeats: int,
           detail: dict[str, list[dict[str, float]]]) -> int:
    """One PostgreSQL claimer thread, the board as it was (`pg_paths.classic`: generic
    statements, BEGIN/COMMIT around reads) and as it is, interleaved in this run."""
    arms: dict[str, list[dict[str, float]]] = {"before": [], "now": []}
    for _ in range(repeats):
        with classic():
            arms["before"].append(measure("threads", 1, tasks, dsn))
        arms["now"].append(measure("threads", 1, tasks, dsn))
    for kind in ("claims", "acks"):
        rates = {arm: median([r[f"{kind}_per_s"] for r in runs]) for arm, runs in arms.items()}
        section.add(f"PostgreSQL A/B, 1 thread: {kind}/s as before", rates["before"],
                    f"{kind}/s", runs=repeats)
        section.add(f"PostgreSQL A/B, 1 thread: {kind}/s now", rates["now"], f"{kind}/s",
                    runs=repeats)
        section.add(f"PostgreSQL A/B, 1 thread: {kind} now ÷ before",
                    rates["now"] / rates["before"], "×", runs=repeats)
    section.notes.append("PostgreSQL A/B: one claimer thread, 'before' = the board's earlier"
                         " path (bench/pg_paths.py: generic statements, BEGIN/COMMIT around"
                         " reads too), 'now' = server functions; pairs interleaved.")
    detail.update({f"PostgreSQL-ab-{arm}": runs for arm, runs in arms.items()})
    return sum(int(r["double_claims"]) for runs in arms.values() for r in runs)


async def run(cfg: Config) -> Section:
    section = Section("board", "6. board store")
    # PostgreSQL is an order slower per transaction: fewer tasks keep its runs as long.
    sizes = {"SQLite": cfg.pick(2000, 60), "PostgreSQL": cfg.pick(500, 60)}
    repeats = cfg.pick(3, 1)
    detail: dict[str, list[dict[str, float]]] = {}
    doubles_total = 0
    with postgres_dsn() as dsn:
        stores: list[tuple[str, str | None]] = [("SQLite", None)]
        if dsn is not None:
            stores.append(("PostgreSQL", dsn))
        else:
            section.notes.append("PostgreSQL: server binaries or psycopg not installed,"
                                 " not measured.")
        for store, location in stores:
            for kind in ("threads", "processes"):
                for claimers in cfg.pick((1, 4, 8), (1, 2)):
                    runs = [measure(kind, claimers, sizes[store], location)
                            for _ in range(repeats)]
                    detail[f"{store}-{kind}-{claimers}"] = runs
                    doubles_total += sum(int(r["double_claims"]) for r in runs)
                    label = f"{store}, {claimers} {kind}"
                    section.add(f"{label}: claims/s",
                                median([r["claims_per_s"] for r in runs]), "claims/s",
                                runs=len(runs))
                    section.add(f"{label}: acks/s", median([r["acks_per_s"] for r in runs]),
                                "acks/s", runs=len(runs))
        if dsn is not None:
            doubles_total += _pg_ab(section, dsn, sizes["PostgreSQL"], repeats, detail)
    section.add("double claims (all runs)", doubles_total, "",
                runs=sum(map(len, detail.values())), target="0", met=doubles_total == 0)
    section.notes.append(f"{sizes['SQLite']} (SQLite) or {sizes['PostgreSQL']} (PostgreSQL)"
                         " tasks in one member's queue; a claim = open turn + pull"
                         " (2 write transactions), an ack = settle the turn ok (1). SQLite:"
                         " WAL, synchronous=NORMAL, BEGIN IMMEDIATE. PostgreSQL: a local"
                         " throwaway server (fsync off), advisory locks per member; the turn open,"
                         " the pull and the ok settle are one server function each.")
    section.detail = detail
    return section
