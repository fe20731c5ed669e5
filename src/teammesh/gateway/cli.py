"""`teammesh serve`: run the gateway until SIGINT/SIGTERM.

Once listening it prints exactly one line to stdout,
`teammesh gateway listening on http://HOST:PORT`, so scripts can parse the port.

A token by default: `--token`, else `$TEAMMESH_TOKEN`, else the one in `<data-dir>/token`
(made there, 0600, on first start; see `token_file.py`). Only `--no-token` serves without
one, and only on loopback. The token's value is never printed, not even on stderr (which
often ends up in a log or a journal); stderr says where the file is and how clients use it.

Its flags are declared in `serve_args.py`, which `teammesh --help` reads without importing
this module (see `teammesh.cli_lazy`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import shlex
import signal
import sys
from pathlib import Path

from teammesh.cli_checks import unusable_dir
from teammesh.gateway.ceiling_cli import ceiling_from_args
from teammesh.gateway.embedded import InsecureBindError, check_bind, is_loopback, start_gateway
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.gateway.token_file import ensure_serve_token
from teammesh.serving.cli_args import guard_kwargs
from teammesh.tracing import configure as configure_tracing


def _given_token(args: argparse.Namespace) -> str | None:
    for value in (args.token, os.environ.get("TEAMMESH_TOKEN")):
        if value is not None and value.strip():
            return value.strip()
    return None


def _refusal(args: argparse.Namespace, given: str | None) -> str | None:
    """Why these token options cannot be served, checked before anything is touched."""
    if args.no_token and given is not None:
        return "--no-token contradicts --token / TEAMMESH_TOKEN: give one or the other"
    if args.no_token and not is_loopback(args.host):
        return (f"refusing to listen on non-loopback host {args.host!r} without a token: "
                "drop --no-token (a token is then generated) or pass --token")
    return None


def run(args: argparse.Namespace) -> int:
    given = _given_token(args)
    data_dir = Path(args.data_dir)
    refusal = _refusal(args, given)
    if refusal is not None:
        print(f"teammesh serve: {refusal}", file=sys.stderr)
        return 2
    try:
        guard_kwargs(args)  # a bad --allow-host / --allow-origin / limit fails here
    except ValueError as exc:
        print(f"teammesh serve: {exc}", file=sys.stderr)
        return 2
    problem = unusable_dir(data_dir)  # said as such, not as "cannot listen"
    if problem is not None:
        print(f"teammesh serve: data dir {problem}", file=sys.stderr)
        return 2
    token = given
    if token is None and not args.no_token:
        try:
            made = ensure_serve_token(data_dir)
        except OSError as exc:
            print(f"teammesh serve: cannot keep the token in {data_dir}: {exc}", file=sys.stderr)
            return 1
        token = made.value
        where = shlex.quote(str(made.path.absolute()))
        print(f"teammesh serve: token {'kept' if made.reused else 'written'} in {where}"
              f"; clients: export TEAMMESH_TOKEN_FILE={where}"
              f" (or CODEX_MANAGER_BEARER_TOKEN=$(cat {where}))",
              file=sys.stderr, flush=True)
    elif token is None:
        print("teammesh serve: --no-token: any local process can drive these sessions",
              file=sys.stderr, flush=True)
    try:
        check_bind(args.host, token)
    except InsecureBindError as exc:
        print(f"teammesh serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    settings = RuntimeSettings(
        data_dir=data_dir,
        think_ms=args.think_ms,
        model=args.model,
        model_base_url=args.model_base_url,
        model_api_key_env=args.model_api_key_env,
        codex_bin=args.codex_bin,
        tool_call_deadline_s=args.tool_call_deadline,
    )
    configure_tracing("teammesh-gateway")  # OTEL_* variables; a no-op without them
    try:
        asyncio.run(_serve(args, token, data_dir, settings))
    except OSError as exc:
        print(f"teammesh serve: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    # The gateway has stopped (children reaped, store closed, sockets closed). What is left
    # is the interpreter's exit, whose garbage collection over everything still alive took
    # ~60 ms of a ~80 ms stop; frozen objects are skipped (atexit handlers still run).
    gc.freeze()
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
        **guard_kwargs(args),
        ceiling=ceiling_from_args(args),
        durability=args.durability,
    ) as gateway:
        print(f"teammesh gateway listening on {gateway.base_url}", flush=True)
        # Everything alive now (modules, classes, schemas: ~60k objects) lives as long as
        # the process: out of the collector's sight, a full collection no longer walks it
        # (~18 ms each, landing on whatever request is running).
        gc.freeze()
        closed = loop.create_task(gateway.wait_closed())
        stopped = loop.create_task(stop.wait())
        await asyncio.wait({closed, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for task in (closed, stopped):
            task.cancel()
