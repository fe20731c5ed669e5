"""The llm runtime through the real gateway, with pydantic-ai talking to the real playbook
model server (`teammesh model serve`, in process) over the Responses API, driven with raw
httpx + websockets on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from teammesh.brain.server import start_model_server
from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.mesh.prompts import default_prompt

pytestmark = pytest.mark.anyio

Frame = dict[str, Any]
WAIT_S = 30.0
TOOL_CALL = "app_server.request.item.tool.call"
TURN_COMPLETED = "app_server.turn.completed"

ECHO_TOOL = {
    "name": "team_echo",
    "description": "Echo the value back.",
    "inputSchema": {
        "type": "object",
        "properties": {"value": {"type": "integer"}},
        "required": ["value"],
        "additionalProperties": False,
    },
}


def _team_tools() -> list[dict[str, Any]]:
    """The five team_* tools with S5's schemas (the mesh generates the real ones)."""
    def obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
        return {"type": "object", "properties": properties, "required": required,
                "additionalProperties": False}

    text = {"type": "string", "minLength": 1}
    return [
        {"name": "team_pull_work", "description": "Claim your next task.",
         "inputSchema": obj({}, [])},
        {"name": "team_queue_work", "description": "Queue a task for a teammate.",
         "inputSchema": obj({"owner": {"type": "string", "enum": ["docs", "reviewer"]},
                             "task": text}, ["owner", "task"])},
        {"name": "team_publish_artifact", "description": "Publish an artifact.",
         "inputSchema": obj({"kind": text, "summary": text}, ["kind", "summary"])},
        {"name": "team_read_board", "description": "Read the board.",
         "inputSchema": obj({"limit": {"type": "integer", "minimum": 1, "maximum": 25}}, [])},
        {"name": "team_mark_done", "description": "Mark yourself done.",
         "inputSchema": obj({"note": {"type": "string"}}, [])},
    ]


class Events:
    """`/api/stream` for one session; keeps what it read."""

    def __init__(self, base_url: str, session_id: str) -> None:
        self.url = base_url.replace("http://", "ws://") + f"/api/stream?threadId={session_id}"
        self.ws: ClientConnection | None = None
        self.frames: list[Frame] = []

    async def __aenter__(self) -> Events:
        self.ws = await connect(self.url, open_timeout=10)
        await self.next(lambda f: f.get("type") == "ready")
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def next(self, match: Callable[[Frame], bool]) -> Frame:
        assert self.ws is not None
        async with asyncio.timeout(WAIT_S):
            while True:
                frame = json.loads(await self.ws.recv())
                self.frames.append(frame)
                if match(frame):
                    return frame

    async def of_type(self, kind: str) -> Frame:
        return await self.next(lambda f: f.get("type") == kind)


@dataclass
class Stack:
    base_url: str
    model_url: str


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with start_model_server() as model:
        spec = f"llm?model=openai-responses:playbook&model_base_url={model.base_url}/v1"
        async with start_gateway(data_dir=tmp_path / "gateway", runtime=spec) as gateway:
            yield Stack(gateway.base_url, model.base_url)


async def _session(http: httpx.AsyncClient, tools: list[dict[str, Any]], **extra: Any) -> str:
    reply = await http.post("/api/sessions", json={"cwd": ".", "approvalPolicy": "never",
                                                   "dynamicTools": tools, **extra})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["session"]["sessionId"])


async def _send(http: httpx.AsyncClient, session_id: str, text: str) -> str:
    reply = await http.post(f"/api/sessions/{session_id}/messages", json={"text": text})
    assert reply.status_code == 202, reply.text
    return str(reply.json()["turnId"])


async def _answer(http: httpx.AsyncClient, request_id: Any, text: str, ok: bool = True) -> None:
    reply = await http.post(
        f"/api/tool-calls/{request_id}/response",
        json={"response": {"contentItems": [{"type": "inputText", "text": text}],
                           "success": ok}},
    )
    assert reply.status_code == 200, reply.text


def _completed(turn_id: str) -> Callable[[Frame], bool]:
    def match(frame: Frame) -> bool:
        if frame.get("type") != TURN_COMPLETED:
            return False
        return bool(frame["payload"]["params"]["turn"]["id"] == turn_id)

    return match


async def _assistant_reply(http: httpx.AsyncClient, session_id: str, turn_id: str) -> str:
    detail = (await http.get(f"/api/sessions/{session_id}")).json()
    replies = [e["content"] for e in detail["transcript"]
               if e["turnId"] == turn_id and e["role"] == "assistant"
               and e["status"] == "complete"]
    assert replies, detail["transcript"]
    return str(replies[-1])


@pytest.mark.parametrize("model", ["openai-responses:playbook", "openai:playbook"],
                         ids=["responses-api", "chat-completions"])
async def test_tool_call_round_trip_through_the_gateway(stack: Stack, model: str) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=WAIT_S) as http:
        # The session's model picks the API: Responses, or Chat Completions as an
        # OpenAI-compatible server (Ollama, vLLM, ...) would serve.
        session_id = await _session(http, [ECHO_TOOL], model=model)
        async with Events(stack.base_url, session_id) as events:
            turn_id = await _send(http, session_id, 'call team_echo with {"value": 7}')
            signal = await events.of_type(TOOL_CALL)
            payload = signal["payload"]
            assert payload["params"]["tool"] == "team_echo"
            assert payload["params"]["arguments"] == {"value": 7}
            assert payload["params"]["turnId"] == turn_id
            assert payload["session"]["id"] == session_id
            pending = (await http.get(f"/api/sessions/{session_id}/tool-calls")).json()
            assert [p["tool"] for p in pending["data"]] == ["team_echo"]
            await _answer(http, payload["requestId"], "echo: 7")
            done = await events.next(_completed(turn_id))
            assert done["payload"]["params"]["turn"]["status"] == "completed"
        reply = await _assistant_reply(http, session_id, turn_id)
        # The model's streamed text arrives as deltas of one agentMessage item.
        messages = [f["payload"]["params"]["item"] for f in events.frames
                    if f["type"] == "app_server.item.completed"
                    and f["payload"]["params"]["item"]["type"] == "agentMessage"]
        assert [m["text"] for m in messages] == [reply]
        deltas = [f["payload"]["params"]["delta"] for f in events.frames
                  if f["type"] == "app_server.item.agent_message.delta"
                  and f["payload"]["params"]["itemId"] == messages[0]["id"]]
        assert len(deltas) > 1 and "".join(deltas) == reply
        final_items = done["payload"]["params"]["turn"]["items"]
        assert [i["type"] for i in final_items] == ["agentMessage"]
        # Token usage per model response (two here: the call, then the reply), codex-shaped.
        usages = [f["payload"]["params"]["tokenUsage"] for f in events.frames
                  if f["type"] == "app_server.thread.token_usage.updated"]
        assert len(usages) == 2
        assert all(u["last"]["totalTokens"] > 0 for u in usages)
        assert usages[1]["total"]["totalTokens"] == sum(u["last"]["totalTokens"] for u in usages)
        assert reply.splitlines()[0] == "called team_echo."
        assert "team_echo returned: echo: 7" in reply


async def test_member_turn_runs_the_default_prompt(stack: Stack) -> None:
    results = {
        "team_pull_work": {"task": "Draft plan X", "queueDepth": 0},
        "team_publish_artifact": {"artifactCount": 1, "artifact": {
            "member": "developer", "kind": "implementation", "summary": "s"}},
        "team_mark_done": {"completed": ["developer"]},
    }
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=WAIT_S) as http:
        session_id = await _session(http, _team_tools())
        calls: list[tuple[str, dict[str, Any]]] = []
        async with Events(stack.base_url, session_id) as events:
            turn_id = await _send(http, session_id, default_prompt("developer",
                                                                   ["docs", "reviewer"]))
            while True:
                frame = await events.next(
                    lambda f: f.get("type") == TOOL_CALL or _completed(turn_id)(f))
                if frame["type"] == TURN_COMPLETED:
                    break
                params = frame["payload"]["params"]
                calls.append((params["tool"], params["arguments"]))
                result = results.get(params["tool"]) or {
                    "queuedFor": params["arguments"]["owner"], "queued": True}
                await _answer(http, frame["payload"]["requestId"], json.dumps(result))
        assert frame["payload"]["params"]["turn"]["status"] == "completed"
        assert [name for name, _ in calls] == [
            "team_pull_work", "team_publish_artifact", "team_queue_work", "team_queue_work",
            "team_mark_done"]
        assert [args["owner"] for name, args in calls if name == "team_queue_work"] == [
            "docs", "reviewer"]
        reply = await _assistant_reply(http, session_id, turn_id)
        assert reply.splitlines()[0] == (
            "published implementation, queued docs and reviewer handoffs, "
            "marked done.")


async def test_interrupt_while_a_tool_call_waits(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=WAIT_S) as http:
        session_id = await _session(http, [ECHO_TOOL])
        async with Events(stack.base_url, session_id) as events:
            turn_id = await _send(http, session_id, 'call team_echo with {"value": 1}')
            await events.of_type(TOOL_CALL)
            reply = await http.post(f"/api/sessions/{session_id}/interrupt",
                                    json={"turnId": turn_id})
            assert reply.status_code == 200, reply.text
            done = await events.next(_completed(turn_id))
            assert done["payload"]["params"]["turn"]["status"] == "interrupted"
        # The abandoned tool item completed as failed, like codex does.
        completions = [f["payload"]["params"]["item"] for f in events.frames
                       if f["type"] == "app_server.item.completed"
                       and f["payload"]["params"]["item"]["type"] == "dynamicToolCall"]
        assert [item["status"] for item in completions] == ["failed"]
        # The thread still works: a second turn completes.
        async with Events(stack.base_url, session_id) as events:
            turn_id = await _send(http, session_id, 'call team_echo with {"value": 2}')
            signal = await events.of_type(TOOL_CALL)
            await _answer(http, signal["payload"]["requestId"], "echo: 2")
            done = await events.next(_completed(turn_id))
            assert done["payload"]["params"]["turn"]["status"] == "completed"


async def test_session_model_selects_the_llm_runtime_on_a_playbook_gateway(
    tmp_path: Path,
) -> None:
    async with start_model_server() as model:
        settings = RuntimeSettings(data_dir=tmp_path / "gw",
                                   model_base_url=f"{model.base_url}/v1")
        async with start_gateway(data_dir=tmp_path / "gw", runtime="playbook",
                                 settings=settings) as gateway, \
                httpx.AsyncClient(base_url=gateway.base_url, timeout=WAIT_S) as http:
            session_id = await _session(http, [ECHO_TOOL],
                                        model="llm:openai-responses:playbook")
            detail = (await http.get(f"/api/sessions/{session_id}")).json()
            assert detail["thread"]["modelProvider"] == "llm"
            async with Events(gateway.base_url, session_id) as events:
                turn_id = await _send(http, session_id, 'call team_echo with {"value": 3}')
                signal = await events.of_type(TOOL_CALL)
                await _answer(http, signal["payload"]["requestId"], "echo: 3")
                done = await events.next(_completed(turn_id))
                assert done["payload"]["params"]["turn"]["status"] == "completed"


async def test_unreachable_model_fails_the_turn_with_a_clear_error(tmp_path: Path) -> None:
    async with start_model_server() as model:
        dead_url = model.base_url  # the port is free again once this server stops
    spec = f"llm?model=openai-responses:playbook&model_base_url={dead_url}/v1"
    async with start_gateway(data_dir=tmp_path / "gw", runtime=spec) as gateway, \
            httpx.AsyncClient(base_url=gateway.base_url, timeout=WAIT_S) as http:
        session_id = await _session(http, [ECHO_TOOL])
        async with Events(gateway.base_url, session_id) as events:
            turn_id = await _send(http, session_id, "hello")
            done = await events.next(_completed(turn_id))
        turn = done["payload"]["params"]["turn"]
        assert turn["status"] == "failed"
        assert turn["error"]["message"]


async def test_unanswered_tool_call_fails_the_turn_after_the_deadline(tmp_path: Path) -> None:
    async with start_model_server() as model:
        spec = (f"llm?model=openai-responses:playbook&model_base_url={model.base_url}/v1"
                "&tool_call_deadline_s=0.2")
        async with start_gateway(data_dir=tmp_path / "gw", runtime=spec) as gateway, \
                httpx.AsyncClient(base_url=gateway.base_url, timeout=WAIT_S) as http:
            session_id = await _session(http, [ECHO_TOOL])
            async with Events(gateway.base_url, session_id) as events:
                turn_id = await _send(http, session_id, 'call team_echo with {"value": 5}')
                await events.of_type(TOOL_CALL)
                done = await events.next(_completed(turn_id))
    turn = done["payload"]["params"]["turn"]
    assert turn["status"] == "failed"
    assert "team_echo was not answered" in turn["error"]["message"]


async def test_an_unusable_model_is_refused_before_the_turn_starts(tmp_path: Path) -> None:
    async with start_gateway(data_dir=tmp_path / "gw", runtime="llm?model=nonsense:foo") as gw, \
            httpx.AsyncClient(base_url=gw.base_url, timeout=WAIT_S) as http:
        session_id = await _session(http, [ECHO_TOOL])
        reply = await http.post(f"/api/sessions/{session_id}/messages", json={"text": "hi"})
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert body["code"] == "invalid_params" and "nonsense:foo" in body["message"]
