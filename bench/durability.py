"""What `--durability full` costs: commits per second of the gateway store and of a SQLite
board, with synchronous=NORMAL (survives a process crash) and FULL (fsync at every commit,
also survives a power loss), on the disk the data dir is on.

    .venv/bin/python -m bench.durability [--dir PATH] [--commits N]

Each commit is one real write of the kind the product makes: a gateway session upsert
(`Store.save_session`) and a board task queued (`TeamBoard.queue_work`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from teammesh.gateway.session import Controls, Session
from teammesh.gateway.store import Store
from teammesh.mesh.board import SYSTEM_MEMBER, create_board
from teammesh.mesh.board.storage_errors import apply_durability


def _gateway_commits(directory: Path, durability: str, commits: int) -> list[float]:
    store = Store(directory / f"gw-{durability}")
    store.set_durability(durability)
    session = Session(id="bench", runtime_key="playbook", cwd=".", model_provider="x",
                      created_at=0, updated_at=0, source="appServer",
                      controls=Controls(model=None, approval_policy="never",
                                        network_access="restricted",
                                        filesystem_sandbox="read-only"),
                      dynamic_tools=[], attached=True)
    times = []
    for number in range(commits):
        session.title = f"title {number}"
        started = time.perf_counter()
        store.save_session(session)
        times.append(time.perf_counter() - started)
    store.close()
    return times


def _board_commits(directory: Path, durability: str, commits: int) -> list[float]:
    board = create_board(run_id=f"bench-{durability}", team="bench", roster=("a",),
                         path=directory / f"board-{durability}.sqlite")
    apply_durability(board, durability)
    times = []
    for number in range(commits):
        started = time.perf_counter()
        board.queue_work("a", f"task {number}", by=SYSTEM_MEMBER, key=f"k{number}")
        times.append(time.perf_counter() - started)
    board.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=None, help="where the files go (default: a temp dir"
                        " under .cache, i.e. on the project's disk)")
    parser.add_argument("--commits", type=int, default=500)
    args = parser.parse_args()
    base = Path(args.dir) if args.dir else Path(".cache")
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        directory = Path(tmp)
        print(f"{'store':8} {'durability':10} {'median ms':>10} {'p95 ms':>8} {'commits/s':>10}")
        for name, measure in (("gateway", _gateway_commits), ("board", _board_commits)):
            for durability in ("normal", "full"):
                times = sorted(measure(directory, durability, args.commits))
                median = statistics.median(times) * 1000
                p95 = times[int(0.95 * (len(times) - 1))] * 1000
                rate = len(times) / sum(times)
                print(f"{name:8} {durability:10} {median:10.3f} {p95:8.3f} {rate:10.0f}")


if __name__ == "__main__":
    main()
