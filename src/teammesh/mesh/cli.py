"""`teammesh demo`, `teammesh run`, `teammesh board show`.

    teammesh demo                         the seed's team on an embedded gateway (or on
                                          $CODEX_MANAGER_API_BASE); exit 0 when complete
    teammesh run [team.toml] [--board PATH] [--resume RUN_ID] [--api-base URL]
                 [--rounds N] [--turn-timeout S] [--concurrency N]
    teammesh board show RUN_ID [--board PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teammesh.client import CodexManagerError
from teammesh.mesh.board import TeamBoard, UnknownRun, board_path, is_dsn, open_board, runs_on
from teammesh.mesh.board.lock import RunBusy, RunLock
from teammesh.mesh.board.storage_errors import BoardStorageError, apply_durability

if TYPE_CHECKING:
    from teammesh.mesh.board.postgres import PgRunLock
from teammesh.mesh.embedded_runtime import ModelChoice
from teammesh.mesh.launch import MEMORY_BOARD, LaunchSpec, board_file, launch, open_run_board
from teammesh.mesh.live import LiveBoard
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions
from teammesh.mesh.team import Team
from teammesh.mesh.teamfile import TeamFileError, builtin_team, load_team, team_from_text

EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_GATEWAY = 3
EXIT_STORAGE = 4


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--durability", choices=("normal", "full"), default="normal",
                        help="SQLite board: normal survives a process crash, full also a"
                             " power loss (fsync at every commit; see docs/reliability.md)"
                             " (default normal)")
    parser.add_argument("--board", default=None,
                        help="board file (SQLite; default .teammesh/runs/<run>.sqlite),"
                             " or 'memory'")
    parser.add_argument("--api-base", default=None,
                        help="gateway URL (default: $CODEX_MANAGER_API_BASE, else an embedded"
                             " gateway)")
    parser.add_argument("--runtime", default="playbook",
                        help="embedded gateway runtime spec (playbook, playbook?think_ms=200,"
                             " codex, llm?model=...)")
    parser.add_argument("--gateway-dir", default=None,
                        help="embedded gateway data dir (default: a temporary directory;"
                             " for codex one under .teammesh/)")
    parser.add_argument("--model", default=None,
                        help="codex/llm: the model (default: the playbook brain of a model"
                             " server started for the run)")
    parser.add_argument("--model-base-url", default=None,
                        help="codex/llm: a Responses-API endpoint to use instead of starting"
                             " a model server")
    parser.add_argument("--model-api-key-env", default=None,
                        help="codex/llm: environment variable holding the model's API key")
    parser.add_argument("--rounds", type=_positive_int, default=None,
                        help="round limit (default: the team's, 9)")
    parser.add_argument("--turn-timeout", type=_positive_float, default=None,
                        help="seconds per turn (default: the team's, 120)")
    parser.add_argument("--concurrency", type=_positive_int, default=None,
                        help="members' turns run at the same time (default 1)")
    parser.add_argument("--no-stream", action="store_true",
                        help="no websocket: tool calls and turn ends by polling only")
    parser.add_argument("--no-polling", action="store_true",
                        help="no polling fallback for tool calls: websocket only")
    parser.add_argument("--live", choices=("auto", "on", "off"), default="auto",
                        help="live board view (auto: only when stdout is a terminal)")


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo", help="run the seed's three-member team end to end",
        description="Run developer, docs and reviewer on an embedded gateway (or on"
                    " $CODEX_MANAGER_API_BASE) and print the team's progress.")
    _run_arguments(demo)
    demo.set_defaults(func=_demo, team_file=None, resume=None)

    run = subparsers.add_parser(
        "run", help="run a team file (or resume a run)",
        description="Run a team declared in a TOML team file; --resume continues a run.")
    run.add_argument("team_file", nargs="?", default=None,
                     help="team file (default: the built-in team)")
    run.add_argument("--resume", default=None, metavar="RUN_ID",
                     help="continue this run (its team file is kept on its board)")
    _run_arguments(run)
    run.set_defaults(func=_run)

    board = subparsers.add_parser("board", help="inspect run boards")
    board_commands = board.add_subparsers(dest="board_command", metavar="COMMAND")
    show = board_commands.add_parser("show", help="print a run's board")
    show.add_argument("run_id", nargs="?", default=None,
                      help="run id (omit to list the runs of --board)")
    show.add_argument("--board", default=None, help="board file")
    show.set_defaults(func=_board_show)
    board.set_defaults(func=lambda args: (board.print_help(), EXIT_USAGE)[1])


def _demo(args: argparse.Namespace) -> int:
    return _execute(args, builtin_team())


def _team_of_run(args: argparse.Namespace) -> Team:
    """`--resume` without a file: the team file kept on the run's board."""
    location = args.board if is_dsn(args.board) else (
        Path(args.board) if args.board else board_path(args.resume))
    board = open_board(location, args.resume)
    try:
        text = board.info().team_text
    finally:
        board.close()
    return team_from_text(text, f"<run {args.resume}>") if text else builtin_team()


def _run(args: argparse.Namespace) -> int:
    try:
        if args.team_file:
            team = load_team(args.team_file)
        elif args.resume:
            team = _team_of_run(args)
        else:
            team = builtin_team()
    except UnknownRun as exc:
        print(f"teammesh run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TeamFileError as exc:
        print(f"teammesh run: invalid team file: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _execute(args, team)


def _ask_on_terminal() -> Any:
    if not sys.stdin.isatty():
        return None

    one_at_a_time = threading.Lock()  # concurrent members: one question on screen at once

    def ask(question: str) -> bool:
        with one_at_a_time:
            # On stderr: stdout carries only the run's lines.
            sys.stderr.write(f"{question} [y/N] ")
            sys.stderr.flush()
            return sys.stdin.readline().strip().lower() in ("y", "yes")

    return ask


def _execute(args: argparse.Namespace, team: Team) -> int:
    if args.no_stream and args.no_polling:
        print("teammesh: --no-stream and --no-polling leave no way to receive tool calls",
              file=sys.stderr)
        return EXIT_USAGE
    spec = LaunchSpec(team=team, board=args.board, resume=args.resume,
                      api_base=args.api_base, runtime=args.runtime,
                      gateway_dir=args.gateway_dir,
                      model=ModelChoice(model=args.model, base_url=args.model_base_url,
                                        api_key_env=args.model_api_key_env))
    try:
        board = open_run_board(spec)
    except (UnknownRun, ValueError) as exc:
        print(f"teammesh: {exc}", file=sys.stderr)
        return EXIT_USAGE
    lock = _run_lock(board_file(spec, board.run_id), board.run_id)
    try:
        if lock is not None:
            lock.acquire()
    except RunBusy as exc:
        board.close()
        print(f"teammesh: {board.run_id}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        apply_durability(board, args.durability)
        return _go(args, team, spec, board)
    except BoardStorageError as exc:
        # Nothing of the refused write was applied: the run is kept as it was.
        print(f"teammesh: {exc}; the run is kept, continue once there is room with:"
              f" teammesh run --resume {board.run_id}", file=sys.stderr)
        return EXIT_STORAGE
    finally:
        if lock is not None:
            lock.release()


def _run_lock(location: str | Path | None, run_id: str) -> RunLock | PgRunLock | None:
    """One runner per run: a file lock beside a SQLite board, an advisory lock in
    PostgreSQL."""
    if location is None:
        return None  # a board in memory lives and dies with this process
    if is_dsn(location):
        from teammesh.mesh.board.postgres import PgRunLock as PostgresLock

        return PostgresLock(str(location), run_id)
    return RunLock(location, run_id)


def _go(args: argparse.Namespace, team: Team, spec: LaunchSpec, board: TeamBoard) -> int:
    """The run itself, its board open and locked."""
    printer = Printer()
    live_on = args.live == "on" or (args.live == "auto" and sys.stdout.isatty())
    options = RunOptions(rounds=args.rounds, turn_timeout=args.turn_timeout,
                         concurrency=args.concurrency, use_stream=not args.no_stream,
                         use_polling=not args.no_polling, ask=_ask_on_terminal())
    printer.note(f"run {board.run_id} (team {team.name}"
                 f"{', resumed' if args.resume else ''})")
    try:
        with contextlib.ExitStack() as stack:
            if live_on:
                live = stack.enter_context(LiveBoard(board))
                options.on_change = live.refresh
            outcome = asyncio.run(launch(spec, board, options, printer))
    except KeyboardInterrupt:
        printer.note(f"interrupted; continue with: teammesh run --resume {board.run_id}")
        return 130
    except CodexManagerError as exc:
        # The gateway is unreachable or refused the team (bad credentials, say): say so
        # plainly; the board keeps the run, which can be resumed once the gateway is right.
        printer.note(f"teammesh: gateway error: {type(exc).__name__}: {exc}")
        if args.board != MEMORY_BOARD:
            printer.note(f"the run is kept; continue with: teammesh run --resume"
                         f" {board.run_id}")
        return EXIT_GATEWAY
    finally:
        board.close()
    printer.note(f"run {outcome.run_id}: {outcome.status} after {outcome.rounds} round(s),"
                 f" {outcome.turns} turn(s), {outcome.tool_calls} tool call(s),"
                 f" makespan {outcome.makespan:.2f} s ({outcome.reason})")
    if not outcome.complete:
        for missing in outcome.missing:
            printer.note(f"missing: {missing}")
        return EXIT_INCOMPLETE
    return 0


def _board_show(args: argparse.Namespace) -> int:
    if args.run_id is None:
        if args.board is None:
            print("teammesh board show: give a RUN_ID (or --board FILE to list its runs)",
                  file=sys.stderr)
            return EXIT_USAGE
        try:
            runs = runs_on(args.board)
        except UnknownRun as exc:
            print(f"teammesh board show: {exc}", file=sys.stderr)
            return EXIT_USAGE
        for info in runs:
            print(f"{info.run_id}\t{info.team}\t{info.status}\tround {info.round}")
        return 0
    location = args.board if is_dsn(args.board) else (
        Path(args.board) if args.board else board_path(args.run_id))
    try:
        board = open_board(location, args.run_id)
    except UnknownRun as exc:
        print(f"teammesh board show: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        info = board.info()
        print(f"run {info.run_id} · team {info.team} · {info.status} · round {info.round}"
              + (f" · {info.reason}" if info.reason else ""))
        print("sessions:", ", ".join(f"{m}={s}" for m, s in board.sessions().items()))
        print("tasks:")
        for task in board.tasks():
            print(f"  #{task.id} {task.owner:<12} {task.status:<8} attempts={task.attempts}"
                  f" from {task.queued_by}: {task.text}")
        print("artifacts:")
        for artifact in board.artifacts():
            print(f"  #{artifact.id} {artifact.member:<12} {artifact.kind}: {artifact.summary}")
        approvals = board.approvals()
        if approvals:
            print("approvals:")
            for approval in approvals:
                by = f" by {approval.answered_by}" if approval.answered_by else ""
                print(f"  #{approval.id} {approval.member:<12} {approval.state}{by}:"
                      f" {approval.question}")
        print("snapshot:", repr(board.snapshot(limit=12)))
    finally:
        board.close()
    return 0
