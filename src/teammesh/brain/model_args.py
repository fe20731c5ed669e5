"""The flags of `teammesh model serve` (the command itself is `cli.serve`, imported when it
runs: `teammesh --help` builds this parser without the model server, see `teammesh.cli_lazy`).
"""

from __future__ import annotations

import argparse
from typing import Any

from teammesh.cli_checks import port_number
from teammesh.cli_lazy import deferred
from teammesh.serving.cli_args import add_guard_arguments


def register(subparsers: Any) -> None:
    model = subparsers.add_parser("model", help="the playbook brain as a model server")
    model_commands = model.add_subparsers(dest="model_command", metavar="SUBCOMMAND")
    serve = model_commands.add_parser(
        "serve", help="serve the playbook brain over the OpenAI Responses API"
    )
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    serve.add_argument("--port", type=port_number, default=0, help="port (0: pick a free one)")
    serve.add_argument(
        "--think-ms", type=int, default=0, help="simulated model latency per request (ms)"
    )
    add_guard_arguments(serve)
    serve.set_defaults(func=deferred("teammesh.brain.cli", "serve"))

    def _help(_: argparse.Namespace) -> int:
        model.print_help()
        return 2

    model.set_defaults(func=_help)
