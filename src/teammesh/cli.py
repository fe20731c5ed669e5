"""`teammesh` command line: one entry point, each area registers its own subcommands.

    teammesh serve         the gateway (codex-manager wire)       -> teammesh.gateway.cli
    teammesh model serve   the playbook brain over Responses API  -> teammesh.brain.cli
    teammesh demo | run | board show                              -> teammesh.mesh.cli
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module exposes `register(subparsers)`; a registered subcommand sets `func` on its
# parser, returning the process exit code.
_AREAS = ("teammesh.gateway.cli", "teammesh.brain.cli", "teammesh.mesh.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="teammesh",
        description="A team of AI agents coordinating through remote skills on a shared board.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _AREAS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # area not built yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    code = func(args)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
