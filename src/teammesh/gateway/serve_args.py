"""The flags of `teammesh serve` (the command itself is `cli.run`, imported when it runs).

Light on purpose: `teammesh --help` builds this parser without importing the gateway (see
`teammesh.cli_lazy`).
"""

from __future__ import annotations

import argparse
from typing import Any

from teammesh.cli_checks import port_number
from teammesh.cli_lazy import deferred
from teammesh.gateway.ceiling_cli import add_ceiling_arguments
from teammesh.serving.cli_args import add_guard_arguments


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the gateway (codex-manager wire)",
        description="Serve agent sessions over codex-manager's HTTP + websocket API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=3001,
                        help="port (0 = pick a free one)")
    parser.add_argument("--data-dir", default=".teammesh/gateway", help="SQLite state directory")
    parser.add_argument(
        "--runtime",
        default="playbook",
        help="default runtime spec: playbook, playbook?think_ms=200, codex, llm?model=...",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="require 'Authorization: Bearer TOKEN' (default: $TEAMMESH_TOKEN, else a token "
        "kept in DATA_DIR/token, generated on first start)",
    )
    parser.add_argument(
        "--no-token",
        action="store_true",
        help="serve without a token: any local process may drive the sessions (loopback only)",
    )
    parser.add_argument("--think-ms", type=int, default=0, help="playbook: latency per model call")
    parser.add_argument("--model", default=None, help="llm/codex: model name")
    parser.add_argument("--model-base-url", default=None, help="llm/codex: model endpoint")
    parser.add_argument("--model-api-key-env", default=None, help="env var holding the API key")
    parser.add_argument("--codex-bin", default=None, help="codex: path to the codex binary")
    parser.add_argument(
        "--tool-call-deadline",
        type=float,
        default=None,
        help="seconds to wait for a tool-call answer before the turn fails",
    )
    parser.add_argument(
        "--durability",
        choices=("normal", "full"),
        default="normal",
        help="normal: survives a process crash; full: also a power loss (fsync at every "
        "commit, see docs/reliability.md for the cost) (default normal)",
    )
    parser.add_argument("--log-level", default="warning", help="python log level")
    add_ceiling_arguments(parser)
    add_guard_arguments(parser)
    parser.set_defaults(func=deferred("teammesh.gateway.cli", "run"))
