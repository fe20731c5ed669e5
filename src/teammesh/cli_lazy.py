"""A subcommand's entry point named by module and function, imported only when it runs.

Why: `teammesh --help` and every parse error used to import the whole package (gateway,
client, brain server: httpx, uvicorn, starlette, pydantic models) just to build the parser:
0.7 s for a help text. The parser is built from light `*_args.py` modules; each command's
code (and what it depends on) is imported when, and only when, that command is run.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

Command = Callable[[argparse.Namespace], int]


def deferred(module: str, name: str) -> Command:
    """A command that imports `module` on its first call and runs `module.name(args)`."""

    def command(args: argparse.Namespace) -> int:
        target: Command = getattr(importlib.import_module(module), name)
        return int(target(args) or 0)

    command.__qualname__ = command.__name__ = f"{module}:{name}"
    return command
