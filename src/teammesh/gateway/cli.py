"""`teammesh serve`: run the gateway until SIGINT/SIGTERM.

Once listening it prints exactly one line to stdout,
`teammesh gateway listening on http://HOST:PORT`, so scripts can parse the port.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from teammesh.cli_checks import port_number, unusable_dir
from teammesh.gateway.embedded import InsecureBindError, check_bind, start_gateway
from teammesh.gateway.runtimes.registry import RuntimeSettings


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
        help="require 'Authorization: Bearer TOKEN' (default: $TEAMMESH_TOKEN); "
        "mandatory for a non-loopback --host",
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
    parser.add_argument("--log-level", default="warning", help="python log level")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("TEAMMESH_TOKEN") or None
    try:
        check_bind(args.host, token)
    except InsecureBindError as exc:
        print(f"teammesh serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    data_dir = Path(args.data_dir)
    problem = unusable_dir(data_dir)  # said as such, not as "cannot listen"
    if problem is not None:
        print(f"teammesh serve: data dir {problem}", file=sys.stderr)
        return 2
    settings = RuntimeSettings(
        data_dir=data_dir,
        think_ms=args.think_ms,
        model=args.model,
        model_base_url=args.model_base_url,
        model_api_key_env=args.model_api_key_env,
        codex_bin=args.codex_bin,
        tool_call_deadline_s=args.tool_call_deadline,
    )
    try:
        asyncio.run(_serve(args, token, data_dir, settings))
    except OSError as exc:
        print(f"teammesh serve: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(
    args: argparse.Namespace, token: str | None, data_dir: Path, settings: RuntimeSettings
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with start_gateway(
        data_dir=data_dir,
        runtime=args.runtime,
        host=args.host,
        port=args.port,
        token=token,
        settings=settings,
    ) as gateway:
        print(f"teammesh gateway listening on {gateway.base_url}", flush=True)
        closed = loop.create_task(gateway.wait_closed())
        stopped = loop.create_task(stop.wait())
        await asyncio.wait({closed, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for task in (closed, stopped):
            task.cancel()
