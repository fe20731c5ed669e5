"""The flags of `teammesh demo | run | board show | runs | team`, without their code.

Light on purpose: `teammesh --help` (and every parse error) builds these parsers without
importing the runner, the client or the boards; each command's module is imported when the
command runs (`teammesh.cli_lazy`): `cli.py` (demo, run, board show), `runs_cli.py`,
`team_cli.py`.
"""

from __future__ import annotations

import argparse
from typing import Any

from teammesh.cli_checks import port_number
from teammesh.cli_lazy import deferred
from teammesh.mesh.run_defaults import (
    DEFAULT_BOARD_DIR,
    DEFAULT_CONCURRENCY,
    DEFAULT_ROUNDS,
    DEFAULT_RUNTIME,
    DEFAULT_TURN_TIMEOUT,
)
from teammesh.mesh.worker_args import register_worker

EXIT_USAGE = 2


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
    parser.add_argument("--runtime", default=None,
                        help="embedded gateway runtime spec (playbook, playbook?think_ms=200,"
                             f" codex, llm?model=...; default: {DEFAULT_RUNTIME}, or on"
                             " --resume the run's own)")
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
                        help=f"round limit (default: the team's, {DEFAULT_ROUNDS}; on"
                             " --resume the run's)")
    parser.add_argument("--turn-timeout", type=_positive_float, default=None,
                        help=f"seconds per turn (default: the team's,"
                             f" {DEFAULT_TURN_TIMEOUT:g}; on --resume the run's)")
    parser.add_argument("--concurrency", type=_positive_int, default=None,
                        help="members' turns run at the same time (default: the team's,"
                             f" {DEFAULT_CONCURRENCY};"
                             " on --resume the run's)")
    parser.add_argument("--no-stream", action="store_true",
                        help="no websocket: tool calls and turn ends by polling only")
    parser.add_argument("--no-polling", action="store_true",
                        help="no polling fallback for tool calls: websocket only")
    parser.add_argument("--live", choices=("auto", "on", "off"), default="auto",
                        help="live board view (auto: only when stdout is a terminal)")
    parser.add_argument("--web", action="store_true",
                        help="serve a live web board of the run (prints its URL)")
    parser.add_argument("--web-host", default="127.0.0.1",
                        help="--web: address to listen on (default 127.0.0.1)")
    parser.add_argument("--web-port", type=port_number, default=0,
                        help="--web: port (default: a free one)")
    parser.add_argument("--web-read-only", action="store_true",
                        help="--web: the page shows the run but cannot answer approvals")


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo", help="run the seed's three-member team end to end",
        description="Run developer, docs and reviewer on an embedded gateway (or on"
                    " $CODEX_MANAGER_API_BASE) and print the team's progress.")
    _run_arguments(demo)
    demo.set_defaults(func=deferred("teammesh.mesh.cli", "demo"), team_file=None, resume=None)

    run = subparsers.add_parser(
        "run", help="run a team file (or resume a run)",
        description="Run a team declared in a TOML team file; --resume continues a run.")
    run.add_argument("team_file", nargs="?", default=None,
                     help="team file (default: the built-in team)")
    run.add_argument("--resume", default=None, metavar="RUN_ID",
                     help="continue this run (its team file is kept on its board)")
    _run_arguments(run)
    run.add_argument("--members", default=None,
                     help="PostgreSQL board: be one worker of the run, driving these members"
                          " (a,b or '*'); others join with `teammesh worker`")
    run.set_defaults(func=deferred("teammesh.mesh.cli", "run"))

    board = subparsers.add_parser("board", help="inspect run boards")
    board_commands = board.add_subparsers(dest="board_command", metavar="COMMAND")
    show = board_commands.add_parser("show", help="print a run's board")
    show.add_argument("run_id", nargs="?", default=None,
                      help="run id (omit to list the runs of --board)")
    show.add_argument("--board", default=None, help="board file")
    show.set_defaults(func=deferred("teammesh.mesh.cli", "board_show"))
    serve = board_commands.add_parser(
        "serve", help="serve a run's board as a live web page",
        description="Serve the web board of a run in progress or finished, read from its"
                    " board (a SQLite file or a postgresql:// URL, also another machine's).")
    serve.add_argument("run_id", nargs="?", default=None,
                       help="run id (default: the board's only or latest run)")
    serve.add_argument("--board", default=None, help="board file or postgresql:// URL")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=port_number, default=0,
                       help="port (default: a free one)")
    serve.add_argument("--read-only", action="store_true",
                       help="show the run; refuse (and hide) approval decisions")
    serve.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                       help="another Host name to answer for (a proxy's); repeatable")
    serve.set_defaults(func=deferred("teammesh.web.cli", "board_serve"))
    board.set_defaults(func=lambda args: (board.print_help(), EXIT_USAGE)[1])
    register_runs(subparsers)
    register_team(subparsers)
    register_worker(subparsers, _run_arguments)


def register_runs(subparsers: Any) -> None:
    runs = subparsers.add_parser(
        "runs", help="list runs (and prune finished ones)",
        description="List the runs under .teammesh/runs (or on --board).")
    _where(runs)
    runs.set_defaults(func=deferred("teammesh.mesh.runs_cli", "list_runs"))
    commands = runs.add_subparsers(dest="runs_command", metavar="COMMAND")
    prune = commands.add_parser(
        "prune", help="remove finished runs (complete, incomplete, failed)",
        description="Remove the runs whose runner ended with an outcome (complete,"
                    " incomplete, failed). Running and interrupted runs are kept.")
    _where(prune)
    prune.add_argument("--dry-run", action="store_true",
                       help="only say which runs would be removed")
    prune.set_defaults(func=deferred("teammesh.mesh.runs_cli", "prune_runs"))
    show = commands.add_parser(
        "show", help="a run's timeline: turns, tool calls, tokens, cost",
        description="Print a run's record: each member turn (start, duration, status,"
                    " tokens) and each tool call in it (outcome, arguments, result; cut"
                    " short on a terminal, whole with --json or --jsonl).")
    show.add_argument("run_id", metavar="RUN_ID")
    _where(show)
    formats = show.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="one JSON document")
    formats.add_argument("--jsonl", action="store_true",
                         help="one JSON object a line: the run, then turns and calls in"
                              " time order")
    show.set_defaults(func=deferred("teammesh.mesh.runs_show", "show_run"))
    transcript = commands.add_parser(
        "transcript", help="a member session's history, kept on the run's board",
        description="Print the history of a member's session (its turns and items), as"
                    " the gateway gave it when the run ended.")
    transcript.add_argument("run_id", metavar="RUN_ID")
    transcript.add_argument("member", metavar="MEMBER")
    _where(transcript)
    transcript.add_argument("--json", action="store_true",
                            help="the session detail as JSON, whole")
    transcript.set_defaults(func=deferred("teammesh.mesh.runs_show", "show_transcript"))


def _where(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--dir", default=str(DEFAULT_BOARD_DIR),
                       help="folder of per-run board files")
    group.add_argument("--board", default=None,
                       help="one board file (or postgresql:// URL) holding runs")


def register_team(subparsers: Any) -> None:
    team = subparsers.add_parser("team", help="team files: their JSON Schema")
    commands = team.add_subparsers(dest="team_command", metavar="COMMAND")
    schema = commands.add_parser(
        "schema", help="print the team file's JSON Schema (Draft 2020-12) for editors")
    schema.set_defaults(func=deferred("teammesh.mesh.team_cli", "print_schema"))
    team.set_defaults(func=lambda args: (team.print_help(), EXIT_USAGE)[1])
