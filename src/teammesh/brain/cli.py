"""`teammesh model serve`: run the playbook brain as a Responses API model server.

Its flags are declared in `model_args.py` (read by `teammesh --help` without importing the
server, see `teammesh.cli_lazy`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from teammesh.brain.server import guarded_app, server_config, url_host
from teammesh.serving.cli_args import guard_kwargs
from teammesh.serving.limits import ServerLimits
from teammesh.serving.listener import bind_listener, bound_port
from teammesh.serving.quiet_server import QuietServer
from teammesh.tracing import configure as configure_tracing


async def _run(host: str, port: int, think_ms: int, guard: dict[str, Any]) -> None:
    # Bound here, not by uvicorn: a busy port is an OSError we can tell in one line (uvicorn
    # would log it and call sys.exit), and the Host/Origin guard needs the real port.
    sock = bind_listener(host, port)
    try:
        limits: ServerLimits = guard["limits"]
        app = guarded_app(sock, host, think_ms, guard["allow_hosts"], guard["allow_origins"])
        server = QuietServer(server_config(app, limits))  # uvicorn's own signal handling
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                await task
                return
            await asyncio.sleep(0.01)
        print(f"teammesh model server listening on http://{url_host(host)}:{bound_port(sock)}",
              flush=True)
        await task
    finally:
        sock.close()


def serve(args: argparse.Namespace) -> int:
    if args.think_ms < 0:
        print("teammesh model serve: --think-ms must be >= 0", file=sys.stderr)
        return 2
    try:
        guard = guard_kwargs(args)
    except ValueError as exc:
        print(f"teammesh model serve: {exc}", file=sys.stderr)
        return 2
    configure_tracing("teammesh-model")  # OTEL_* variables; a no-op without them
    try:
        asyncio.run(_run(args.host, args.port, args.think_ms, guard))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"teammesh model serve: cannot listen on {args.host}:{args.port}:"
              f" {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
