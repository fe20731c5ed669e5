"""Reading a bearer-token file (one token, one line): shared by the client's token
discovery and `teammesh serve`, which writes such a file."""

from __future__ import annotations

import os
from pathlib import Path

# A token file is one line; anything bigger is not a token file (a wrong path, say).
MAX_TOKEN_FILE_BYTES = 4096


class TokenFileError(ValueError):
    """A token file that cannot be used: failing loudly beats a client that silently goes
    without a token and only ever sees 401s."""


def read_token_file(path: str | os.PathLike[str], *, what: str = "token file") -> str:
    """The token in `path` (surrounding whitespace stripped); `TokenFileError` if none."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_TOKEN_FILE_BYTES + 1)
    except OSError as exc:
        raise TokenFileError(f"{what}: cannot read {file}: {exc.strerror}") from None
    if len(raw) > MAX_TOKEN_FILE_BYTES:
        raise TokenFileError(f"{what}: {file} is too large to be a token file")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise TokenFileError(f"{what}: {file} does not hold a token") from None
    token = text.strip()
    if not token or any(c.isspace() for c in token):
        raise TokenFileError(f"{what}: {file} does not hold a token")
    return token
