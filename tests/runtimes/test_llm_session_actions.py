"""Thread actions on the llm runtime (gateway/session_actions.py): a fork continues the
source's conversation, a rollback cuts it, both across a gateway restart; archive and resume
work; steer is upstream's 501 here (pydantic-ai takes no input mid-run).

A real gateway on the llm runtime talks to the real playbook model server through a
recording proxy, which shows the conversation each model request really carried.
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
SECOND = "second message: remember the word quince"
AFTER = "a message after the action"


async def _send(http: httpx.AsyncClient, session_id: str, text: str) -> str:
    reply = await http.post(f"/api/sessions/{session_id}/messages", json={"text": text})
    assert reply.status_code == 202, reply.text
    turn_id: str = reply.json()["turnId"]
    async with asyncio.timeout(30):
        while True:
            detail = (await http.get(f"/api/sessions/{session_id}")).json()
            turns = {t["id"]: t["status"] for t in detail["thread"].get("turns") or []}
            if turns.get(turn_id, "inProgress") != "inProgress":
                assert turns[turn_id] == "completed", detail
                return turn_id
            await asyncio.sleep(0.05)


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_fork_and_rollback_carry_the_conversation_across_restarts(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "gateway"
    async with start_model_server() as model, recording_proxy(model.base_url) as proxy:
        spec = f"llm?model=openai-responses:playbook&model_base_url={proxy.base_url}/v1"

        def gateway() -> Any:
            return start_gateway(data_dir=data_dir, runtime=spec)

        async with gateway() as gw, httpx.AsyncClient(base_url=gw.base_url, timeout=30) as http:
            source = _ok(await http.post("/api/sessions", json={"cwd": "."}))
            sid = source["session"]["sessionId"]
            await _send(http, sid, FIRST)
            await _send(http, sid, SECOND)
            fork = _ok(await http.post(f"/api/sessions/{sid}/fork"))["session"]["sessionId"]
            await _send(http, fork, AFTER)
            carried = json.dumps(proxy.bodies[-1])
            assert FIRST in carried and SECOND in carried  # the fork continues it
            # a rollback of the source's last turn: the model no longer sees SECOND
            body = _ok(await http.post(f"/api/sessions/{sid}/rollback", json={"numTurns": 1}))
            assert len(body["result"]["thread"]["turns"]) == 1
            await _send(http, sid, AFTER)
            carried = json.dumps(proxy.bodies[-1])
            assert FIRST in carried and SECOND not in carried
            # steer is not offered on llm: upstream's 501
            steer = await http.post(f"/api/sessions/{sid}/turns/t/steer", json={"input": "x"})
            assert steer.status_code == 501 and steer.json()["code"] == "method_not_supported"
            _ok(await http.post(f"/api/sessions/{fork}/archive"))
        async with gateway() as gw, httpx.AsyncClient(base_url=gw.base_url, timeout=30) as http:
            listed = _ok(await http.get("/api/sessions", params={"archived": "true"}))
            assert [s["sessionId"] for s in listed["data"]] == [fork]
            _ok(await http.post(f"/api/sessions/{fork}/unarchive"))  # turns need it back
            # after the restart: the fork still has the whole conversation, the source the
            # rolled-back one
            await _send(http, fork, "fork after restart")
            carried = json.dumps(proxy.bodies[-1])
            assert FIRST in carried and SECOND in carried
            await _send(http, sid, "source after restart")
            carried = json.dumps(proxy.bodies[-1])
            assert FIRST in carried and SECOND not in carried and AFTER in carried
            # roll back everything: the next request carries nothing earlier
            turns = len(_ok(await http.get(f"/api/sessions/{sid}"))["thread"]["turns"])
            _ok(await http.post(f"/api/sessions/{sid}/rollback", json={"numTurns": turns}))
            _ok(await http.post(f"/api/sessions/{sid}/resume"))
        async with gateway() as gw, httpx.AsyncClient(base_url=gw.base_url, timeout=30) as http:
            await _send(http, sid, "fresh start")
            carried = json.dumps(proxy.bodies[-1])
            assert FIRST not in carried and AFTER not in carried and "fresh start" in carried


async def test_llm_capabilities_tell_which_actions_answer(tmp_path: Path) -> None:
    spec = "llm?model=openai-responses:playbook&model_base_url=http://127.0.0.1:9/v1"
    async with (
        start_gateway(data_dir=tmp_path / "gw", runtime=spec) as gw,
        httpx.AsyncClient(base_url=gw.base_url, timeout=30) as http,
    ):
        sid = _ok(await http.post("/api/sessions", json={"cwd": "."}))["session"]["sessionId"]
        caps = _ok(await http.get("/api/capabilities", params={"refresh": "true"}))
        assert caps["runtime"]["name"] == "llm"
        assert caps["features"]["threadFork"] is True and caps["features"]["threadRollback"]
        assert caps["features"]["turnSteer"] is False
        assert caps["features"]["threadCompact"] is False
        actions = {"thread/fork": ("fork", None), "thread/rollback": ("rollback", None),
                   "turn/steer": ("turns/t/steer", {"input": "x"}),
                   "thread/compact/start": ("compact", None), "review/start": ("review", {}),
                   "thread/backgroundTerminals/clean": ("background-terminals/clean", None)}
        for method, (path, body) in actions.items():
            response = await http.post(f"/api/sessions/{sid}/{path}", json=body)
            available = caps["methods"][method] == "available"
            assert (response.status_code != 501) == available, (method, response.text)
            assert response.status_code < 500 or response.status_code == 501
