"""The llm runtime's conversation survives a gateway restart.

A real gateway on the llm runtime talks to the real playbook model server through a
recording proxy. One message, then the gateway stops and a new one starts on the same data
dir; a second message on the same session must reach the model with the first exchange in
its input, as a codex thread would continue after a restart.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.runtimes.recording_proxy import recording_proxy

from teammesh.brain.server import start_model_server
from teammesh.gateway.embedded import start_gateway

pytestmark = pytest.mark.anyio

FIRST = "first message: remember the word marmalade"
SECOND = "second message after the restart"


async def _turn_ends(http: httpx.AsyncClient, session_id: str, turn_id: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            detail = (await http.get(f"/api/sessions/{session_id}")).json()
            for turn in detail["thread"].get("turns") or []:
                if turn["id"] == turn_id and turn["status"] != "inProgress":
                    return dict(turn)
            await asyncio.sleep(0.05)


async def _send(http: httpx.AsyncClient, session_id: str, text: str) -> dict[str, Any]:
    reply = await http.post(f"/api/sessions/{session_id}/messages", json={"text": text})
    assert reply.status_code == 202, reply.text
    return await _turn_ends(http, session_id, reply.json()["turnId"])


async def test_conversation_continues_after_a_gateway_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "gateway"
    async with start_model_server() as model, recording_proxy(model.base_url) as proxy:
        spec = f"llm?model=openai-responses:playbook&model_base_url={proxy.base_url}/v1"
        async with (
            start_gateway(data_dir=data_dir, runtime=spec) as gateway,
            httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http,
        ):
            created = await http.post("/api/sessions", json={"cwd": "."})
            session_id = created.json()["session"]["sessionId"]
            assert (await _send(http, session_id, FIRST))["status"] == "completed"
        assert len(proxy.bodies) == 1
        assert FIRST in json.dumps(proxy.bodies[0])

        async with (
            start_gateway(data_dir=data_dir, runtime=spec) as gateway,
            httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http,
        ):
            assert (await _send(http, session_id, SECOND))["status"] == "completed"
        second_input = json.dumps(proxy.bodies[-1])
        assert SECOND in second_input
        assert FIRST in second_input  # the earlier conversation went with it
        # ... and so did the model's earlier answer (an assistant message before SECOND).
        items = proxy.bodies[-1]["input"]
        roles = [item.get("role") for item in items if isinstance(item, dict)]
        assert "assistant" in roles[: roles.index("user", 1)], items


async def test_deleted_session_keeps_no_conversation(tmp_path: Path) -> None:
    data_dir = tmp_path / "gateway"
    async with start_model_server() as model:
        spec = f"llm?model=openai-responses:playbook&model_base_url={model.base_url}/v1"
        async with (
            start_gateway(data_dir=data_dir, runtime=spec) as gateway,
            httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http,
        ):
            created = await http.post("/api/sessions", json={"cwd": "."})
            session_id = created.json()["session"]["sessionId"]
            await _send(http, session_id, FIRST)
            assert gateway.hub.store.load_thread_state(session_id) is not None
            assert (await http.delete(f"/api/sessions/{session_id}")).status_code == 200
            assert gateway.hub.store.load_thread_state(session_id) is None
