"""`teammesh model serve`: run the playbook brain as a Responses API model server."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from typing import Any

import uvicorn

from teammesh.brain.server import create_app, url_host
from teammesh.cli_checks import port_number


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
    serve.set_defaults(func=_serve)

    def _help(_: argparse.Namespace) -> int:
        model.print_help()
        return 2

    model.set_defaults(func=_help)


async def _run(host: str, port: int, think_ms: int) -> None:
    # Bound here, not by uvicorn: a busy port is an OSError we can tell in one line (uvicorn
    # would log it and call sys.exit).
    sock = socket.create_server((host, port), family=_family(host))
    config = uvicorn.Config(
        create_app(think_ms), host=host, port=port, log_level="warning", lifespan="off",
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            return
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    print(f"teammesh model server listening on http://{url_host(host)}:{bound}", flush=True)
    await task


def _serve(args: argparse.Namespace) -> int:
    if args.think_ms < 0:
        print("teammesh model serve: --think-ms must be >= 0", file=sys.stderr)
        return 2
    try:
        asyncio.run(_run(args.host, args.port, args.think_ms))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"teammesh model serve: cannot listen on {args.host}:{args.port}:"
              f" {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
