"""codex-manager's smoke checks (tests/gateway/test_upstream_smoke.py says which upstream
files and commits) on the real codex app-server: every check passes, and the read-only
pass-through routes answer for real (200, or the 401 of an account codex does not have)."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.test_upstream_smoke import replay_smoke

from .stack import Stack

pytestmark = [pytest.mark.codex, pytest.mark.anyio]


async def test_smoke_runtime_checks_pass_on_codex(http: httpx.AsyncClient,
                                                  stack: Stack) -> None:
    smoke = await replay_smoke(http, stack.base_url,
                               {"cwd": str(stack.workspace), "approvalPolicy": "never"})
    got = {(m, p): status for m, p, status in smoke.log}
    forwarded = ("/features/experimental", "/collaboration/modes", "/apps", "/skills",
                 "/account", "/config", "/config/requirements", "/models", "/mcp/servers")
    assert {p: got[("GET", p)] for p in forwarded} == dict.fromkeys(forwarded, 200)
    assert got[("GET", "/account/rate-limits")] == 401  # no account offline
    assert got[("GET", "/skills/remote")] == 501  # codex 0.169 has no skills/remote/read
    assert got[("POST", "/mcp/reload")] == 501  # refused by policy
    actions = {p.rsplit("/", 1)[1]: st for _, p, st in smoke.log if p.count("/") >= 3}
    # Forwarded for real: codex's answer, not a 501 (a 409 when the turn the transcript shows
    # complete has not ended yet: upstream's smoke accepts it too).
    for action in ("fork", "compact", "clean", "review"):
        assert actions[action] in (200, 409), (action, actions[action])
    assert actions["rollback"] == 501  # codex 0.169 has no thread/rollback
