"""Checks the commands share, so a mistake is one line before anything starts: a port out
of range (argparse type), a data dir that cannot be written (a read-only mount, a file in
the way)."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from teammesh.private_files import ForeignOwnerError, private_dir


def port_number(text: str) -> int:
    """argparse type: 0 (pick a free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0 to 65535, got {value}")
    return value


def unusable_dir(path: str | Path) -> str | None:
    """Why `path` cannot hold our state (created if missing), or None when it can."""
    folder = Path(path)
    try:
        private_dir(folder)  # our state: owner-only (teammesh.private_files)
        if not folder.is_dir():
            return f"{folder} is not a directory"
        handle, probe = tempfile.mkstemp(prefix=".write-check-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except ForeignOwnerError as exc:
        return str(exc)
    except OSError as exc:
        return f"{folder} is not writable: {exc.strerror or exc}"
    return None
