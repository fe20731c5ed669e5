"""`teammesh` command line: one entry point, each area registers its own subcommands.

    teammesh serve         the gateway (codex-manager wire)       -> teammesh.gateway.cli
    teammesh model serve   the playbook brain over Responses API  -> teammesh.brain.cli
    teammesh demo | run | board show | runs | team                -> teammesh.mesh.cli ...

The parser is built from each area's light `*_args.py` module; a command's own module (and
the gateway, client or brain it needs) is imported only when that command runs
(`teammesh.cli_lazy`), so `--help`, `--version` and a mistyped flag cost no heavy import.

Here also what every command shares: `--version`, defaults shown in `--help`, and no
traceback for a user's mistake. The areas answer the mistakes they know with one line and
exit 2; what still escapes them (a full disk, a file that vanished) is told in one line
with exit 1, and a closed stdout (`teammesh demo | head`) ends the output quietly.
`TEAMMESH_DEBUG=1` shows the traceback of whatever escaped.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from typing import Any

from teammesh.brain import model_args
from teammesh.gateway import serve_args
from teammesh.mesh import cli_args as mesh_args

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends `(default: X)` to an option's help, unless it has no meaningful default
    (None, False) or its help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or default in (None, False, argparse.SUPPRESS)
                or (action.option_strings == [] and action.nargs in ("?", "*"))):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """Every parser and subparser shows its defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # 20-50 ms: only when asked

    try:
        return version("teammesh")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


class _VersionAction(argparse.Action):
    """argparse's `version` action, with the version looked up only when it is asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS,
                 help: str = "show program's version number and exit") -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"teammesh {_version()}")
        parser.exit()


def _is_storage_error(exc: BaseException) -> bool:
    """An OSError or a SQLite error; sqlite3 is not imported for this: a command that never
    imported it cannot have raised one of its errors."""
    sqlite3 = sys.modules.get("sqlite3")
    return isinstance(exc, OSError) or (sqlite3 is not None and isinstance(exc, sqlite3.Error))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="teammesh",
        description="A team of AI agents coordinating through remote skills on a shared board.",
    )
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=_Parser)
    # Each area registers its subcommands; each sets `func` on its parser, returning the
    # process exit code.
    for area in (serve_args, model_args, mesh_args):
        area.register(subparsers)
    return parser


def _quiet_stdout() -> None:
    """stdout's reader went away: send the rest (and Python's final flush) nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _fail(text: str) -> int:
    try:
        print(f"teammesh: {text}", file=sys.stderr)
    except OSError:
        pass
    return EXIT_ERROR


def _skip_httpx_cli() -> None:
    """`import httpx` also imports httpx's own command line (click, rich, pygments: 40 ms
    and more) whenever those happen to be installed, and this process never runs it. A None
    entry in sys.modules makes that optional import fail as it does when they are absent
    (httpx then defines a stub); only in our command-line process, never for a library
    user of teammesh."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    code = _main(argv)
    if argv is None:  # the process's own command line: it exits next
        # The interpreter's exit walks every object still alive in a last garbage collection
        # (~60 ms after a demo: modules, classes, schemas); frozen, they are skipped. Nothing
        # is lost: what we opened is closed by now, and atexit handlers still run. Not for a
        # caller that passes `argv` (a test, an embedding program): it goes on living.
        gc.freeze()
    return code


def _main(argv: Sequence[str] | None) -> int:
    _skip_httpx_cli()
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    if os.environ.get("TEAMMESH_DEBUG"):
        return int(func(args) or 0)
    try:
        code = func(args)
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if _is_storage_error(exc):
            return _fail(f"{exc}")
        # a bug, not a mistake: still one line, with a way to see more
        return _fail(f"internal error: {type(exc).__name__}: {exc}"
                     " (TEAMMESH_DEBUG=1 shows the traceback)")
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
