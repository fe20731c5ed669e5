"""The command-line flags `teammesh serve` and `teammesh model serve` share for the
Host/Origin guard and the connection limits."""

from __future__ import annotations

import argparse
from typing import Any

from teammesh.serving.limits import ServerLimits
from teammesh.serving.origin_guard import GuardPolicy

_DEFAULTS = ServerLimits()


def add_guard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME[:PORT]",
        help="also answer requests whose Host is NAME (any port) or NAME:PORT; repeatable "
        "(loopback names and the bind address are always answered)",
    )
    parser.add_argument(
        "--allow-origin", action="append", default=[], metavar="SCHEME://HOST[:PORT]",
        help="also accept state-changing requests and websockets from this browser origin; "
        "repeatable (default: only the server's own loopback origins)",
    )
    parser.add_argument(
        "--max-connections", type=int, default=_DEFAULTS.max_connections,
        help=f"open connections before new ones get 503 (default {_DEFAULTS.max_connections};"
        " lowered to fit `ulimit -n`)",
    )
    parser.add_argument(
        "--header-timeout", type=float, default=_DEFAULTS.header_timeout_s, metavar="SECONDS",
        help="close a connection that sends no complete request head in this time "
        f"(default {_DEFAULTS.header_timeout_s:g})",
    )


def guard_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """`allow_hosts`, `allow_origins` and `limits` from the flags, as keyword arguments of
    `start_gateway` / `start_model_server`; ValueError names a bad flag value."""
    allow_hosts, allow_origins = list(args.allow_host), list(args.allow_origin)
    GuardPolicy.for_listener(args.host, args.port, allow_hosts, allow_origins)
    limits = ServerLimits(max_connections=args.max_connections,
                          header_timeout_s=args.header_timeout)
    return {"allow_hosts": allow_hosts, "allow_origins": allow_origins, "limits": limits}
