"""`teammesh runs` (list runs) and `teammesh runs prune` (remove finished ones).

    teammesh runs [--dir DIR | --board PATH]
    teammesh runs prune [--dry-run] [--dir DIR | --board PATH]

By default the runs are the board files under `.teammesh/runs/` (one per run); `--board`
names one board file (or a PostgreSQL URL) holding any number of runs.

A run is *finished* when its runner ended and recorded an outcome: `complete`,
`incomplete` (a limit or a round without progress stopped it) or `failed`. Only those are
pruned. A run still marked `running` is kept either way: a runner holds it (listed as
`running`), or its runner died and it waits for `teammesh run --resume` (listed as
`interrupted`). Both are told apart by asking the run's lock, never by trusting a pid.
"""

from __future__ import annotations

import argparse
import datetime
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from teammesh.mesh.board import (
    Location,
    NotABoard,
    RunInfo,
    UnknownRun,
    run_lock,
)
from teammesh.mesh.board import runs_on as runs_of_board
from teammesh.mesh.board.lock import RunBusy
from teammesh.mesh.git_cmd import GitError
from teammesh.mesh.run_files import discard_run
from teammesh.mesh.runs_record import record_columns
from teammesh.mesh.terminal_text import inert_line
from teammesh.mesh.workspaces import remove_workspaces

FINISHED = ("complete", "incomplete", "failed")
EXIT_USAGE = 2


@dataclass(frozen=True)
class Listed:
    location: Location
    info: RunInfo
    live: bool  # a runner holds it now

    @property
    def status(self) -> str:
        if self.info.status == "running" and not self.live:
            return "interrupted"
        return self.info.status

    @property
    def finished(self) -> bool:
        return self.info.status in FINISHED and not self.live


def _locations(args: argparse.Namespace) -> list[Location]:
    if args.board is not None:
        return [args.board]
    folder = Path(args.dir)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.sqlite"))


def _runs(args: argparse.Namespace) -> Iterator[Listed]:
    for location in _locations(args):
        try:
            infos = runs_of_board(location)
        except (NotABoard, sqlite3.Error) as exc:
            if args.board is not None:
                raise
            print(f"teammesh runs: skipped {location}: {exc}", file=sys.stderr)
            continue
        for info in infos:
            live = run_lock(location, info.run_id).held_elsewhere()
            yield Listed(location, info, live)


def _parse(stamp: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=datetime.UTC)
    except ValueError:
        return None


def _duration(listed: Listed) -> str:
    started = _parse(listed.info.created_at)
    ended = (datetime.datetime.now(datetime.UTC) if listed.live
             else _parse(listed.info.updated_at))
    if started is None or ended is None:
        return "?"
    seconds = max(0, int((ended - started).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _runtime(info: RunInfo) -> str:
    launch = info.meta.get("launch")
    if not isinstance(launch, dict):
        return "?"  # a run started before launch flags were kept
    runtime = str(launch.get("runtime") or "?")
    if launch.get("api_base"):
        return f"{runtime} @ {launch['api_base']}"
    return runtime


def _listed(args: argparse.Namespace, command: str) -> list[Listed] | None:
    """Every run of `--dir` / `--board`; None (said in one line) when they cannot be read."""
    try:
        return list(_runs(args))
    except (NotABoard, UnknownRun, sqlite3.Error, OSError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return None


def list_runs(args: argparse.Namespace) -> int:
    listed = _listed(args, "teammesh runs")
    if listed is None:
        return EXIT_USAGE
    if not listed:
        where = args.board if args.board is not None else args.dir
        print(f"teammesh runs: no runs in {where}", file=sys.stderr)
        return 0
    rows = [("RUN", "TEAM", "STATUS", "STARTED (UTC)", "DURATION", "TURNS", "CALLS",
             "TOKENS", "COST", "RUNTIME")]
    # The team name and runtime come from a board another program may have written: inert.
    rows += [(r.info.run_id, inert_line(r.info.team), r.status, r.info.created_at, _duration(r),
              *record_columns(r.location, r.info.run_id), inert_line(_runtime(r.info)))
             for r in listed]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
              + "  " + row[-1])
    return 0


def prune_runs(args: argparse.Namespace) -> int:
    listed = _listed(args, "teammesh runs prune")
    if listed is None:
        return EXIT_USAGE
    removed = kept = 0
    for run in listed:
        if not run.finished:
            kept += 1
            continue
        if args.dry_run:
            print(f"would remove {run.info.run_id} ({run.status}, team {run.info.team})")
            removed += 1
            continue
        if _remove(run):
            print(f"removed {run.info.run_id} ({run.status}, team {run.info.team})")
            removed += 1
        else:
            kept += 1
    verb = "would be removed" if args.dry_run else "removed"
    print(f"{removed} finished run(s) {verb}, {kept} kept (running or interrupted)",
          file=sys.stderr)
    return 0


def _remove(run: Listed) -> bool:
    """Remove one finished run under its lock (a runner resuming it meanwhile wins)."""
    lock = run_lock(run.location, run.info.run_id)
    try:
        lock.acquire()
    except RunBusy:
        print(f"kept {run.info.run_id}: a runner took it up", file=sys.stderr)
        return False
    try:
        now = {i.run_id: i.status for i in runs_of_board(run.location)}
        if now.get(run.info.run_id) not in FINISHED:  # resumed since it was listed
            print(f"kept {run.info.run_id}: it is running again", file=sys.stderr)
            return False
        discard_run(run.location, run.info.run_id)
        for branch in remove_workspaces(run.info.meta.get("workspace")):
            print(f"kept branch {branch} of {run.info.run_id}: the integration branch does"
                  " not hold its work", file=sys.stderr)
    except (UnknownRun, NotABoard, sqlite3.Error, OSError, GitError) as exc:
        print(f"kept {run.info.run_id}: {exc}", file=sys.stderr)
        return False
    finally:
        lock.release()
    return True
