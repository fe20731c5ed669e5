"""Owner-only directories and files for everything teammesh keeps on disk.

Transcripts, boards, the codex config and its home hold what agents said and did, and a
generated config may name where credentials come from: no other local user may read them.
Every creator goes through these helpers instead of `mkdir`/`open`/`write_text`:

* `private_dir(path)`: creates the missing components 0700 and tightens `path` itself (and
  any ancestor named `.teammesh`, the project's own folder) when it already exists with
  group/other bits, e.g. made 0755 by an older version.
* `private_parent(path)`: for a file whose location the user chose (`--board ./x.sqlite`):
  creates missing parent components 0700 but does not change a directory that already
  existed (that could be the user's cwd), unless it is inside `.teammesh/`.
* `private_file(path)`: creates the file 0600 if missing, else tightens it.
* `private_sqlite(path)`: `private_file` for a database and its `-wal`/`-shm`/`-journal`
  companions. SQLite creates the companions with the main file's permission bits (checked:
  a 0600 database gets 0600 `-wal` and `-shm`), but files left by an older version keep
  theirs, so existing ones are tightened too.
* `write_private_text(path, text)`: atomic replace through a 0600 temporary file.

Modes are explicit (`os.open(..., 0o600)`, `os.mkdir(..., 0o700)`), never a process-wide
umask: the gateway has threads, and a umask changed around one creation would leak into
another thread's. Tightening only ever removes group/other bits, only on what this user
owns, and never on a sticky directory such as /tmp (shared by design).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# The project's own folder (`.teammesh/`): tightened wherever it appears above a private dir.
PROJECT_FOLDER = ".teammesh"
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
_GROUP_OTHER = 0o077


class ForeignOwnerError(PermissionError):
    """A directory or file we would keep private state in belongs to another user.

    Tightening its mode is not ours to do, and whoever owns it can read, replace or plant
    what we put there (a world-writable `gateway.sqlite3` planted in a data dir another user
    made would receive every transcript). So we refuse to use it."""


def _refuse_foreign(path: Path, what: str) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if info.st_uid != os.geteuid():
        raise ForeignOwnerError(
            f"{path}: this {what} belongs to another user (uid {info.st_uid}); "
            "teammesh keeps its state only in directories and files of its own"
        )


def private_dir(path: str | os.PathLike[str]) -> Path:
    """`path` as an owner-only directory (created with missing parents); returns it."""
    target = Path(path)
    _make_missing(target)
    _refuse_foreign(target, "directory")
    _tighten(target)
    for ancestor in target.resolve().parents:
        if ancestor.name == PROJECT_FOLDER:
            _tighten(ancestor)
    return target


def private_parent(path: str | os.PathLike[str]) -> Path:
    """Create the missing directories above the file `path` (0700). An existing one is left
    alone unless it is the project's own (`.teammesh/` or inside it, e.g. `.teammesh/runs`)."""
    parent = Path(path).parent
    _make_missing(parent)
    resolved = parent.resolve()
    if PROJECT_FOLDER in (resolved.name, *(p.name for p in resolved.parents)):
        private_dir(parent)
    return parent


def private_file(path: str | os.PathLike[str]) -> Path:
    """`path` as an owner-only file: created empty 0600 if missing, else tightened."""
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        _refuse_foreign(target, "file")
        _tighten(target)
    else:
        os.close(fd)
    return target


def private_sqlite(path: str | os.PathLike[str]) -> Path:
    """A database file and whichever companions exist, owner-only, before SQLite opens it."""
    target = private_file(path)
    for suffix in SQLITE_COMPANIONS:
        companion = Path(f"{target}{suffix}")
        if companion.exists():
            _refuse_foreign(companion, "file")
            _tighten(companion)
    return target


def open_private_append(path: str | os.PathLike[str]) -> int:
    """A file descriptor appending to the owner-only file `path` (for logs)."""
    target = private_file(path)
    return os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)


def write_private_text(path: str | os.PathLike[str], text: str) -> Path:
    """Replace `path` atomically with `text`; the new file is 0600 from its first byte."""
    target = Path(path)
    # mkstemp creates the file 0600 with O_EXCL under a unique name: concurrent writers
    # never share a temporary file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as sink:
            sink.write(text)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def _make_missing(directory: Path) -> None:
    """Create each missing component top-down with 0700 (an exact mode: chmod after mkdir,
    since mkdir's mode is filtered by the umask, which only ever removes bits)."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for component in reversed(missing):
        try:
            os.mkdir(component, DIR_MODE)
        except FileExistsError:
            # Created meanwhile by another thread or process: tighten it like any other.
            _tighten(component)
            continue
        os.chmod(component, DIR_MODE)


def _tighten(path: Path) -> None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if info.st_uid != os.geteuid() or info.st_mode & stat.S_ISVTX:
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & _GROUP_OTHER:
        os.chmod(path, mode & ~_GROUP_OTHER)

