"""The `teammesh serve` flags of the session ceiling (see `session_policy.SessionCeiling`).

Kept apart from `cli.py` so the ceiling's flags, defaults and help live next to each other;
light to import (the help is built without the policy code, see `teammesh.cli_lazy`).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from teammesh.gateway.ceiling_names import (
    APPROVAL_POLICIES,
    DEFAULT_FORK_SESSION_LIMIT,
    DEFAULT_MAX_RUNTIMES,
    DEFAULT_MAX_SANDBOX,
    SANDBOX_ORDER,
)

if TYPE_CHECKING:
    from teammesh.gateway.session_policy import SessionCeiling


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_ceiling_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "session ceiling", "the most a client's session may ask (403 past it)"
    )
    group.add_argument(
        "--max-sandbox", choices=SANDBOX_ORDER, default=DEFAULT_MAX_SANDBOX,
        help=f"widest filesystem sandbox a session may ask (default {DEFAULT_MAX_SANDBOX})",
    )
    group.add_argument(
        "--allow-approval-policy", action="append", choices=APPROVAL_POLICIES, default=None,
        metavar="POLICY",
        help="an approval policy sessions may ask (repeatable; default: only 'never', or every "
        "policy with --max-sandbox danger-full-access: an approved command may run outside "
        "the sandbox under the others)",
    )
    group.add_argument(
        "--allow-network", action="store_true",
        help="admit sessions asking networkAccess=enabled (default: refused)",
    )
    group.add_argument(
        "--allow-cwd", action="append", default=None, metavar="DIR",
        help="a directory session cwds must be inside (repeatable; default: the directory "
        "the gateway starts in); symlinks and '..' are resolved first",
    )
    group.add_argument(
        "--allow-model", action="append", default=None, metavar="PATTERN",
        help="a runtime:model pattern clients may name, e.g. 'llm:openai:*' (repeatable; "
        "default: any name that keeps the operator's endpoint and key)",
    )
    group.add_argument(
        "--max-runtimes", type=_positive_int, default=DEFAULT_MAX_RUNTIMES,
        help=f"live runtime instances at most (default {DEFAULT_MAX_RUNTIMES})",
    )
    group.add_argument(
        "--fork-session-limit", type=_positive_int, default=DEFAULT_FORK_SESSION_LIMIT,
        help="live sessions past which POST /api/sessions/{id}/fork is refused with 429 "
        f"(a fork copies its source; default {DEFAULT_FORK_SESSION_LIMIT})",
    )


def ceiling_from_args(args: argparse.Namespace) -> SessionCeiling:
    from teammesh.gateway.session_policy import SessionCeiling

    roots = None
    if args.allow_cwd:
        roots = tuple(os.path.realpath(path) for path in args.allow_cwd)
    return SessionCeiling(
        max_sandbox=args.max_sandbox,
        approval_policies=tuple(args.allow_approval_policy) if args.allow_approval_policy
        else None,
        allow_network=args.allow_network,
        cwd_roots=roots,
        allow_models=tuple(args.allow_model or ()),
        max_runtimes=args.max_runtimes,
        fork_session_limit=args.fork_session_limit,
    )
