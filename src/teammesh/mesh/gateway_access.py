"""Which credentials a run presents to its gateway.

An embedded gateway (started by `teammesh run` / `teammesh demo` for the run alone) gets a
fresh random token that only this runner holds, so no other local process can drive the
team's sessions (and codex runs shell commands). A gateway given by `--api-base` or
`CODEX_MANAGER_API_BASE` is someone else's: the runner presents what the client's
environment says (`ClientConfig.from_env`: CODEX_MANAGER_BEARER_TOKEN, TEAMMESH_TOKEN,
TEAMMESH_TOKEN_FILE, RBAC headers).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from teammesh.client import HEADER_AUTHORIZATION, ClientConfig


def run_token() -> str:
    """A fresh token for one embedded gateway."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class GatewayAccess:
    base_url: str
    # None: an external gateway, reached with the environment's credentials.
    token: str | None = field(default=None, repr=False)

    def headers(self) -> dict[str, str]:
        headers = ClientConfig.from_env().headers
        if self.token is not None:
            # The run's own token replaces whatever the environment holds for other gateways.
            headers[HEADER_AUTHORIZATION] = f"Bearer {self.token}"
        return headers
