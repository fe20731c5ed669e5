"""The token `teammesh serve` makes when none is given, kept in `<data-dir>/token`.

The file is never readable by anyone but its owner, not even for an instant: it is created
0600 under a temporary name (O_CREAT|O_EXCL|O_NOFOLLOW, so nothing planted there is
followed or reused) and renamed into place; the data dir is created 0700.

A token already in the file is reused, so clients (and a runner waiting out a gateway
restart) keep working across restarts. It is reused only while it still looks private — a
regular file, ours, no group/other permission bits, one token in it; anything else is
replaced by a fresh token (its old value may have been read by someone).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from teammesh.private_files import private_dir
from teammesh.tokenfile import TokenFileError, read_token_file

TOKEN_FILE_NAME = "token"


@dataclass(frozen=True)
class ServeToken:
    value: str
    path: Path
    reused: bool


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _private_token(path: Path) -> str | None:
    """The token in `path` if the file is still private to us, else None."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        return None
    if info.st_mode & 0o077:
        return None
    try:
        return read_token_file(path)
    except TokenFileError:
        return None


def _write_private(path: Path, token: str) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask can only take bits away; say it explicitly anyway
        os.write(fd, (token + "\n").encode("ascii"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    os.close(fd)
    try:
        os.replace(temporary, path)  # replaces a planted symlink itself, never its target
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def ensure_serve_token(data_dir: Path) -> ServeToken:
    """The gateway's token: the one in `<data_dir>/token` while it is private, else a new
    one written there. Makes `data_dir` owner-only (teammesh.private_files)."""
    private_dir(data_dir)  # 0700, and an older 0755 one tightened
    path = data_dir / TOKEN_FILE_NAME
    existing = _private_token(path)
    if existing is not None:
        return ServeToken(existing, path, reused=True)
    token = new_token()
    _write_private(path, token)
    return ServeToken(token, path, reused=False)
