"""What a board *file* must be before the board opens it, so that pointing a command at the
wrong file is a one-line refusal, never a traceback and never a change to that file.

SQLite happily "opens" any path: a missing one becomes a new empty database, a text file
fails only at the first statement, and another program's database would get our tables
added. So: a board is read only when the file exists, is a regular file, starts with
SQLite's header and holds a `runs` table; a new run goes only into a missing file, an empty
one, or an existing board.
"""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"


class NotABoard(ValueError):
    """The path is not a board file (missing, a directory, not SQLite, not ours)."""


def readonly_uri(path: str | Path) -> str:
    """A URI that opens `path` read-only: never creates it, never writes to it."""
    return Path(path).resolve().as_uri() + "?mode=ro"


def _kind_problem(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"no board file at {path}"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return f"{path} is a directory, not a board file"
    if not stat.S_ISREG(mode):
        return f"{path} is not a regular file, so not a board file"
    return None


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise NotABoard(f"cannot read {path}: {exc.strerror or exc}") from None


def _has_runs_table(path: Path) -> bool:
    try:
        conn = sqlite3.connect(readonly_uri(path), uri=True)
        try:
            row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                               " AND name = 'runs'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise NotABoard(f"{path} cannot be read as a board: {exc}") from None
    return row is not None


def require_board_file(path: str | Path) -> None:
    """Raise `NotABoard` unless `path` is an existing teammesh board file."""
    file = Path(path)
    problem = _kind_problem(file)
    if problem is not None:
        raise NotABoard(problem)
    if _header(file) != SQLITE_HEADER:
        raise NotABoard(f"{file} is not a board file (not a SQLite database)")
    if not _has_runs_table(file):
        raise NotABoard(f"{file} is a SQLite database but not a teammesh board")


def check_new_board_target(path: str | Path) -> None:
    """Raise `NotABoard` when a new run may not go into `path`: it exists and is anything
    but an empty file or a teammesh board."""
    file = Path(path)
    if not file.exists() and not file.is_symlink():
        return
    problem = _kind_problem(file)
    if problem is not None:
        raise NotABoard(problem)
    header = _header(file)
    if header == b"":
        return  # an empty file: SQLite makes a database of it
    if header != SQLITE_HEADER:
        raise NotABoard(f"{file} exists and is not a board file (not a SQLite database)")
    if not _has_runs_table(file):
        raise NotABoard(f"{file} is a SQLite database but not a teammesh board")
