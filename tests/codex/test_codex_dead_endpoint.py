"""codex pointed at a model endpoint that refuses connections: the turn fails with the reason
within seconds (codex itself would keep "Reconnecting... waiting for network" until the
caller's turn timeout). Real gateway, real app-server, a closed loopback port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .stack import Stack, codex_stack
from .wire_helpers import EventStream, create_session, send_message

pytestmark = [pytest.mark.codex, pytest.mark.anyio]

# Far below the runner's 120 s turn timeout, and well above what the failure takes.
FAILS_WITHIN_S = 30.0


def _closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def stack(codex_bin: Path, codex_data_dir: Path) -> Iterator[Stack]:
    with codex_stack(codex_bin, codex_data_dir, model_base_url=_closed_port_url()) as stack:
        yield stack


async def test_unreachable_endpoint_fails_the_turn_with_the_reason(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    session_id = await create_session(http, cwd=str(stack.workspace), approvalPolicy="never")
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, "hello")
        frame = await events.next(
            lambda f: f.get("type") == "app_server.turn.completed", timeout_s=FAILS_WITHIN_S)
    turn = frame["payload"]["params"]["turn"]
    assert turn["id"] == turn_id
    assert turn["status"] == "failed", turn
    assert turn["error"]["message"].startswith("model endpoint unreachable"), turn
    stored = (await http.get(f"/api/sessions/{session_id}")).json()["thread"]["turns"]
    assert [(t["id"], t["status"]) for t in stored] == [(turn_id, "failed")]
    assert "unreachable" in stored[0]["error"]["message"]
