"""Finding the gateway's bearer token: the one rule every client of ours follows.

Order: `CODEX_MANAGER_BEARER_TOKEN` (what codex-manager's own client reads, so existing
setups keep working), else `TEAMMESH_TOKEN` (what `teammesh serve` reads), else the file
named by `TEAMMESH_TOKEN_FILE` (e.g. the `<data-dir>/token` that `teammesh serve` writes).
Blank values count as unset.

Deliberately NOT consulted: the default `teammesh serve` data dir's token file
(`.teammesh/gateway/token`). Picking a secret out of the working directory and sending it to
whatever answers on the default port would hand it to any local process that squats that
port while the gateway is down (and the token survives gateway restarts). Naming the file
once (`TEAMMESH_TOKEN_FILE`) costs one variable and keeps where the token goes explicit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from teammesh.client.text_values import stripped
from teammesh.tokenfile import TokenFileError as TokenFileError
from teammesh.tokenfile import read_token_file

ENV_BEARER_TOKEN = "CODEX_MANAGER_BEARER_TOKEN"
ENV_TEAMMESH_TOKEN = "TEAMMESH_TOKEN"
ENV_TOKEN_FILE = "TEAMMESH_TOKEN_FILE"


def discover_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The bearer token this process should present, or None (no token configured)."""
    env = os.environ if environ is None else environ
    for name in (ENV_BEARER_TOKEN, ENV_TEAMMESH_TOKEN):
        if (token := stripped(env.get(name))) is not None:
            return token
    if (path := stripped(env.get(ENV_TOKEN_FILE))) is not None:
        return read_token_file(path, what=ENV_TOKEN_FILE)
    return None
