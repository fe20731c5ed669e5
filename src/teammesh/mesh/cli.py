"""`teammesh demo`, `teammesh run`, `teammesh board show`.

    teammesh demo                         the seed's team on an embedded gateway (or on
                                          $CODEX_MANAGER_API_BASE); exit 0 when complete
    teammesh run [team.toml] [--board PATH] [--resume RUN_ID] [--api-base URL]
                 [--rounds N] [--turn-timeout S] [--concurrency N]
    teammesh board show RUN_ID [--board PATH]
    teammesh runs [prune]                 (see runs_cli.py)

A run keeps how it was launched on its board (run_config.py); `--resume` reuses it. The
flags are declared in `cli_args.py`, which `teammesh --help` reads without importing this
module (see `teammesh.cli_lazy`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teammesh.cli_checks import unusable_dir
from teammesh.client import CodexManagerError
from teammesh.mesh.board import (
    MEMORY_BOARD,
    BadRunId,
    Location,
    NotABoard,
    TeamBoard,
    UnknownRun,
    board_location,
    check_run_id,
    is_dsn,
    open_board,
    run_lock,
    runs_on,
)
from teammesh.mesh.board.core import short_reason
from teammesh.mesh.board.lock import RunBusy, RunLock
from teammesh.mesh.board.storage_errors import BoardStorageError, apply_durability
from teammesh.mesh.brain_check import (
    ModelRefused,
    brain_line,
    check_models,
    check_runtime_available,
)
from teammesh.mesh.gateway_errors import gateway_message, refused_at_start
from teammesh.mesh.run_config import LaunchConfig, for_new_run, for_resume, secret_notes
from teammesh.mesh.run_files import discard_run

if TYPE_CHECKING:
    from teammesh.mesh.board.postgres import PgRunLock
from teammesh.mesh.embedded_runtime import ModelChoice
from teammesh.mesh.launch import LaunchSpec, launch, open_run_board, resolve_api_base
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions
from teammesh.mesh.team import Team
from teammesh.mesh.teamfile import TeamFileError, builtin_team, load_team, team_from_text
from teammesh.mesh.terminal_text import inert
from teammesh.mesh.usage_text import cost_text, tokens_detail
from teammesh.mesh.workspaces import WorkspaceError
from teammesh.tracing import configure as configure_tracing

EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_GATEWAY = 3
EXIT_STORAGE = 4


def demo(args: argparse.Namespace) -> int:
    from teammesh.mesh.demo_team import demo_team  # codex: the team gets a repository

    return _execute(args, demo_team(args.runtime,
                                    embedded=resolve_api_base(args.api_base) is None))


def _team_of_run(args: argparse.Namespace) -> Team:
    """`--resume` without a file: the team file kept on the run's board."""
    board = open_board(_existing(args.board, args.resume), args.resume)
    try:
        text = board.info().team_text
    finally:
        board.close()
    return team_from_text(text, f"<run {args.resume}>") if text else builtin_team()


def run(args: argparse.Namespace) -> int:
    held: RunLock | PgRunLock | None = None
    try:
        if args.resume is not None:
            check_run_id(args.resume, names_file=args.board is None)
            # The lock before the first read of the board: reached through a hard link,
            # SQLite would read the board through another write-ahead log (it keys the log
            # by file name) and see a live run's rows stale, or not at all.
            held = _lock_before_reading(args)
        return _run_locked(args, held)
    except RunBusy as exc:
        print(f"teammesh: {args.resume}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (BadRunId, OSError) as exc:
        print(f"teammesh run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if held is not None:
            held.release()


def _lock_before_reading(args: argparse.Namespace) -> RunLock | PgRunLock | None:
    location = board_location(args.board, args.resume)
    if location is None or (not is_dsn(location) and not Path(location).is_file()):
        return None  # no board file: the open that follows says so
    lock = run_lock(location, args.resume)
    try:
        lock.acquire()
    except RunBusy:
        raise RunBusy(_holder_at(location, args.resume) or "run is being run by another"
                      " runner") from None
    return lock


def _holder_at(location: str | Path, run_id: str) -> str:
    try:
        board = open_board(location, run_id)
    except Exception:  # a view through another name may not see the run yet
        return ""
    try:
        return _holder(board)
    finally:
        board.close()


def _run_locked(args: argparse.Namespace, held: RunLock | PgRunLock | None) -> int:
    try:
        if args.team_file:
            team = load_team(args.team_file)
        elif args.resume:
            team = _team_of_run(args)
        else:
            team = builtin_team()
    except (UnknownRun, BadRunId, NotABoard) as exc:
        print(f"teammesh run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (sqlite3.Error, OSError) as exc:
        print(f"teammesh run: cannot read the board: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TeamFileError as exc:
        print(f"teammesh run: invalid team file: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _execute(args, team, held)


def _ask_on_terminal() -> Any:
    if not sys.stdin.isatty():
        return None
    from teammesh.mesh.terminal_prompt import TerminalPrompt

    return TerminalPrompt()


def _execute(args: argparse.Namespace, team: Team,
             held: RunLock | PgRunLock | None = None) -> int:
    """Open (or create) the run's board, lock it (unless `held` already is its lock), run."""
    if args.no_stream and args.no_polling:
        print("teammesh: --no-stream and --no-polling leave no way to receive tool calls",
              file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "members", None) is not None and not str(args.board or "").startswith(
            ("postgresql://", "postgres://")):
        print("teammesh run: --members needs a PostgreSQL --board (workers coordinate"
              " through PostgreSQL)", file=sys.stderr)
        return EXIT_USAGE
    board: TeamBoard | None = None
    overrides: list[str] = []
    try:
        if args.resume is not None:
            # The run's own launch flags first (its board says how it was started).
            board = open_run_board(LaunchSpec(team=team, board=args.board, resume=args.resume))
            config, overrides = for_resume(board.info().meta.get("launch"), args)
        else:
            config = for_new_run(args)
        spec = _spec(team, args, config)
        # Refused before a new run's board exists: nothing is left behind.
        check_models(team, config.runtime, spec.model, embedded=config.api_base is None)
        check_runtime_available(config.runtime, embedded=config.api_base is None)
        problem = (unusable_dir(config.gateway_dir)
                   if config.gateway_dir and config.api_base is None else None)
        if problem is not None:
            raise ModelRefused(f"--gateway-dir: {problem}")
        if board is None:
            board = open_run_board(spec)
            board.update_meta(launch=config.stored())
        elif overrides:
            board.update_meta(launch=config.stored())
    except (UnknownRun, ValueError, sqlite3.Error, OSError) as exc:
        if board is not None:
            board.close()
        what = "teammesh" if isinstance(exc, ModelRefused | UnknownRun | NotABoard) else (
            "teammesh: cannot open the board")
        print(f"{what}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "members", None) is not None:  # this runner is one worker of many
        from teammesh.mesh.worker_cli import start_as_worker

        return start_as_worker(args, board)
    location = board_location(spec.board, board.run_id)
    # A board in memory lives and dies with this process: nothing to lock.
    lock = run_lock(location, board.run_id) if held is None and location is not None else None
    try:
        if lock is not None:
            lock.acquire()
    except (RunBusy, OSError) as exc:
        said = (_holder(board) if isinstance(exc, RunBusy) else "") or str(exc)
        board.close()
        print(f"teammesh: {board.run_id}: {said}", file=sys.stderr)
        return EXIT_USAGE
    try:
        apply_durability(board, args.durability)
        board.update_meta(runner={"pid": os.getpid(), "host": socket.gethostname(),
                                  "since": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())})
        return _go(args, team, spec, board, config, overrides)
    except BoardStorageError as exc:
        # Nothing of the refused write was applied: the run is kept as it was.
        print(f"teammesh: {exc}; the run is kept, continue once there is room with:"
              f" teammesh run --resume {board.run_id}", file=sys.stderr)
        return EXIT_STORAGE
    finally:
        if lock is not None:
            lock.release()


def _spec(team: Team, args: argparse.Namespace, config: LaunchConfig) -> LaunchSpec:
    return LaunchSpec(team=team, board=args.board, resume=args.resume,
                      api_base=config.api_base, runtime=config.runtime,
                      gateway_dir=config.gateway_dir,
                      model=ModelChoice(model=config.model, base_url=config.model_base_url,
                                        api_key_env=config.model_api_key_env))


def _holder(board: TeamBoard) -> str:
    """Who holds the run, as its board last heard (the lock itself says only that it is
    held)."""
    runner = board.info().meta.get("runner")
    if not isinstance(runner, dict) or "pid" not in runner:
        return ""
    return (f"run is being run by process {runner.get('pid')} on {runner.get('host', '?')}"
            f" (since {runner.get('since', '?')} UTC)")


def _existing(board: str | None, run_id: str) -> Location:
    """The location of a run's board that must exist already (`--resume`, `board show`)."""
    location = board_location(board, run_id)
    if location is None:
        raise NotABoard("a board in memory ends with its run: there is none to read")
    return location


def _go(args: argparse.Namespace, team: Team, spec: LaunchSpec, board: TeamBoard,
        config: LaunchConfig, overrides: list[str]) -> int:
    """The run itself, its board open and locked."""
    web = None
    if getattr(args, "web", False):
        from teammesh.web.run_hook import WebRun  # starlette page: only with --web

        web = WebRun(board, team, args)
    printer = web.printer if web is not None else Printer()
    live_on = args.live == "on" or (args.live == "auto" and sys.stdout.isatty())
    options = RunOptions(rounds=config.rounds, turn_timeout=config.turn_timeout,
                         concurrency=config.concurrency, use_stream=not args.no_stream,
                         use_polling=not args.no_polling, ask=_ask_on_terminal())
    printer.note(f"run {board.run_id} (team {team.name}"
                 f"{', resumed' if args.resume else ''})")
    for line in (*overrides, *secret_notes(config)):
        printer.note(line)
    printer.note(brain_line(team, config.runtime, spec.model, spec.api_base))
    discard = False
    try:
        with contextlib.ExitStack() as stack:
            if live_on:
                from teammesh.mesh.live import LiveBoard  # rich: only for a live view

                live = stack.enter_context(LiveBoard(board))
                options.on_change = live.refresh
                options.on_state = live.attach
            configure_tracing("teammesh-runner")  # OTEL_* variables; a no-op without them
            running = launch(spec, board, options, printer)
            if web is not None:
                from teammesh.web.server import WebListenError

                web.hook(options)
                try:
                    outcome = asyncio.run(web.around(running, printer))
                except WebListenError as exc:  # before any turn: keep no "interrupted" run
                    printer.note(f"teammesh: {exc}")
                    discard = (args.resume is None and args.board != MEMORY_BOARD
                               and not board.turns())
                    return EXIT_USAGE
            else:
                outcome = asyncio.run(running)
    except KeyboardInterrupt:
        printer.note(f"interrupted; continue with: teammesh run --resume {board.run_id}")
        return 130
    except WorkspaceError as exc:  # [team] repo: refused before any session exists
        printer.note(f"teammesh: {exc}")
        return EXIT_USAGE
    except CodexManagerError as exc:
        if refused_at_start(exc) and args.resume is None and not board.turns():
            # The gateway refused the team as asked (unknown runtime, bad credentials, a
            # model it has not): no turn ran, so no run is kept; retrying cannot help.
            printer.note(f"teammesh: cannot start the run: {gateway_message(exc)}")
            discard = args.board != MEMORY_BOARD
            return EXIT_USAGE
        printer.note(f"teammesh: gateway error: {gateway_message(exc)}")
        if args.board != MEMORY_BOARD:
            printer.note(f"the run is kept; continue with: teammesh run --resume"
                         f" {board.run_id}")
        return EXIT_USAGE if refused_at_start(exc) else EXIT_GATEWAY
    finally:
        board.close()
        if discard:
            _discard(spec, board.run_id, printer)
    printer.note(f"run {outcome.run_id}: {outcome.status} after {outcome.rounds} round(s),"
                 f" {outcome.turns} turn(s), {outcome.tool_calls} tool call(s),"
                 f" makespan {outcome.makespan:.2f} s ({outcome.reason})")
    printer.note(f"run {outcome.run_id}: tokens {tokens_detail(outcome.usage)},"
                 f" cost {cost_text(outcome.cost_usd)}")
    if not outcome.complete:
        for missing in outcome.missing:
            printer.note(f"missing: {missing}")
        return EXIT_INCOMPLETE
    return 0


def _discard(spec: LaunchSpec, run_id: str, printer: Printer) -> None:
    location = board_location(spec.board, run_id)
    if location is None:
        return
    try:
        discard_run(location, run_id)
    except (UnknownRun, NotABoard, sqlite3.Error, OSError) as exc:
        printer.note(f"teammesh: the run that did not start could not be removed: {exc}")
        return
    printer.note(f"run {run_id} did not start; nothing was kept")


def _out(*parts: str) -> None:
    """One line of `board show`: board text is agents' text, so made inert (bidi, controls)."""
    print(inert(" ".join(parts)))


def board_show(args: argparse.Namespace) -> int:
    """Read-only: never creates a file, and a file that is no board is a one-line error."""
    try:
        if args.run_id is None:
            if args.board is None:
                print("teammesh board show: give a RUN_ID (or --board FILE to list its runs)",
                      file=sys.stderr)
                return EXIT_USAGE
            for info in runs_on(args.board):
                _out(f"{info.run_id}\t{info.team}\t{info.status}\tround {info.round}")
            return 0
        check_run_id(args.run_id, names_file=args.board is None)
        board = open_board(_existing(args.board, args.run_id), args.run_id)
    except (UnknownRun, BadRunId, NotABoard) as exc:
        print(f"teammesh board show: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (sqlite3.Error, OSError) as exc:
        print(f"teammesh board show: cannot read the board: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        info = board.info()
        _out(f"run {info.run_id} · team {info.team} · {info.status} · round {info.round}"
              + (f" · {info.reason}" if info.reason else ""))
        _out("sessions:", ", ".join(f"{m}={s}" for m, s in board.sessions().items()))
        _out("tasks:")
        for task in board.tasks():
            _out(f"  #{task.id} {task.owner:<12} {task.status:<8} attempts={task.attempts}"
                  f" from {task.queued_by}: {task.text}")
        failed = board.failed_turns()
        if failed:
            _out("failed turns:")
            for turn in failed:
                _out(f"  round {turn.round} {turn.member:<12} {turn.state:<6}"
                      f" {short_reason(turn.reason) or '(no reason recorded)'}")
        _out("artifacts:")
        for artifact in board.artifacts():
            # A summary's later lines (the commit it carries) indented under it.
            summary = artifact.summary.replace("\n", "\n" + " " * 6)
            _out(f"  #{artifact.id} {artifact.member:<12} {artifact.kind}: {summary}")
        approvals = board.approvals()
        if approvals:
            _out("approvals:")
            for approval in approvals:
                by = f" by {approval.answered_by}" if approval.answered_by else ""
                _out(f"  #{approval.id} {approval.member:<12} {approval.state}{by}:"
                      f" {approval.question}")
        _out("snapshot:", repr(board.snapshot(limit=12)))
    finally:
        board.close()
    return 0
