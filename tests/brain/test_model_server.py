"""`teammesh model serve` over real HTTP: the Responses API, streaming and not, with the
request shapes codex sends (replayed from shared/reference/codex-samples)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.brain.server import ModelServerThread, start_model_server
from teammesh.mesh.prompts import default_prompt

from .schemas import schema_errors, team_tools

# Copies of shared/reference/codex-samples/request_*.json (captured from codex 0.169.0).
SAMPLES = Path(__file__).resolve().parent / "codex_samples"
ENVIRONMENT = (
    "<environment_context>\n  <cwd>/work/run</cwd>\n  <shell>bash</shell>\n"
    "</environment_context>"
)
PROMPT = "Use team_read_board to see what is on the team board."


def _sample_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((SAMPLES / name).read_text())["body"]
    body = copy.deepcopy(body)
    # The samples elide codex's own texts; restore the shapes they stand for.
    for item in body["input"]:
        if item.get("role") == "user":
            text = item["content"][0]["text"]
            item["content"][0]["text"] = ENVIRONMENT if text.startswith("<elided") else PROMPT
    return body


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    for frame in text.split("\n\n"):
        if not frame.strip():
            continue
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        data = json.loads(lines["data"])
        assert data["type"] == lines["event"]
        events.append((lines["event"], data))
    return events


def _function_tools() -> list[dict[str, Any]]:
    return [
        {"type": "function", "name": t.name, "description": t.description, "strict": False,
         "parameters": t.input_schema}
        for t in team_tools()
    ]


@pytest.mark.anyio
async def test_codex_sample_round_trip_streaming() -> None:
    async with start_model_server() as server, httpx.AsyncClient(timeout=10) as http:
        assert not server.base_url.endswith("/v1")
        first = _sample_body("request_first_call_tool.json")
        reply = await http.post(f"{server.base_url}/v1/responses", json=first,
                                headers={"accept": "text/event-stream"})
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(reply.text)
        assert [kind for kind, _ in events] == [
            "response.created", "response.output_item.added", "response.output_item.done",
            "response.completed",
        ]
        assert events[1][1]["item"]["arguments"] == ""
        call = events[2][1]["item"]
        assert call["type"] == "function_call" and call["name"] == "team_read_board"
        assert call["status"] == "completed"
        schema = next(t for t in first["tools"] if t.get("name") == "team_read_board")
        assert schema_errors(json.loads(call["arguments"]), schema["parameters"]) == []
        usage = events[3][1]["response"]["usage"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        assert [data["sequence_number"] for _, data in events] == [0, 1, 2, 3]

        # Second request: codex resends everything plus the call and its output.
        second = _sample_body("request_after_tool_output.json")
        for item in second["input"]:
            if item["type"] == "function_call":
                item.update(call_id=call["call_id"], arguments=call["arguments"])
            if item["type"] == "function_call_output":
                item["call_id"] = call["call_id"]
        reply = await http.post(f"{server.base_url}/v1/responses", json=second)
        events = parse_sse(reply.text)
        kinds = [kind for kind, _ in events]
        assert kinds[:2] == ["response.created", "response.output_item.added"]
        assert kinds[-2:] == ["response.output_item.done", "response.completed"]
        assert set(kinds[2:-2]) == {"response.output_text.delta"}
        message = events[-2][1]["item"]
        assert message["type"] == "message" and message["role"] == "assistant"
        text = message["content"][0]["text"]
        assert "".join(data["delta"] for kind, data in events if kind.endswith("delta")) == text
        assert all(data["item_id"] == message["id"] for kind, data in events
                   if kind.endswith("delta"))
        assert text.splitlines()[0] == "called team_read_board."
        assert "BOARD[main]: #1 fix login (alice)" in text


@pytest.mark.anyio
async def test_namespaced_tool_call_carries_its_namespace() -> None:
    body = {
        "model": "stub-model",
        "stream": False,
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": PROMPT}]}],
        "tools": [
            {"type": "namespace", "name": "team", "description": "team tools",
             "tools": [t for t in _function_tools() if t["name"] == "team_read_board"]},
            {"type": "web_search", "external_web_access": False},
        ],
        "reasoning": {"summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "store": False,
        "prompt_cache_key": "thread-1",
        "client_metadata": {"x": "y"},
    }
    async with start_model_server() as server, httpx.AsyncClient(timeout=10) as http:
        reply = await http.post(f"{server.base_url}/v1/responses", json=body)
    assert reply.status_code == 200
    response = reply.json()
    assert response["object"] == "response" and response["status"] == "completed"
    assert response["model"] == "stub-model"
    [call] = response["output"]
    assert call["namespace"] == "team" and call["name"] == "team_read_board"


def test_member_turn_over_http_non_streaming() -> None:
    tools = _function_tools()
    prompt = default_prompt("developer", ["docs", "reviewer"])
    items: list[dict[str, Any]] = [
        {"role": "developer", "content": "base instructions"},
        {"role": "user", "content": ENVIRONMENT},
        {"role": "user", "content": [{"type": "input_text", "text": prompt}]},
    ]
    results = {
        "team_pull_work": {"task": "Draft plan X", "queueDepth": 0},
        "team_publish_artifact": {"artifactCount": 1,
                                  "artifact": {"member": "developer", "kind": "implementation",
                                               "summary": "s"}},
        "team_mark_done": {"completed": ["developer"]},
    }
    names: list[str] = []
    with ModelServerThread() as server, httpx.Client(timeout=10) as http:
        for _ in range(10):
            reply = http.post(f"{server.base_url}/v1/responses",
                              json={"model": "playbook", "input": items, "tools": tools})
            assert reply.status_code == 200
            output = reply.json()["output"]
            if output[0]["type"] == "message":
                final = output[0]["content"][0]["text"]
                break
            for call in output:
                names.append(call["name"])
                arguments = json.loads(call["arguments"])
                result = results.get(call["name"]) or {
                    "queuedFor": arguments["owner"], "queued": True, "task": arguments["task"]}
                items.append({"type": "function_call", "call_id": call["call_id"],
                              "name": call["name"], "arguments": call["arguments"]})
                items.append({"type": "function_call_output", "call_id": call["call_id"],
                              "output": json.dumps(result)})
        else:
            raise AssertionError("no final message")
    assert names == ["team_pull_work", "team_publish_artifact", "team_queue_work",
                     "team_queue_work", "team_mark_done"]
    assert final.splitlines()[0] == (
        "published implementation, queued docs and reviewer handoffs, marked done."
    )


@pytest.mark.anyio
async def test_models_route_and_structured_errors() -> None:
    async with start_model_server() as server, httpx.AsyncClient(timeout=10) as http:
        models = await http.get(f"{server.base_url}/v1/models")
        assert models.status_code == 200 and models.json()["data"][0]["id"] == "playbook"
        json_type = {"content-type": "application/json"}
        bad = await http.post(f"{server.base_url}/v1/responses", content=b"{not json",
                              headers=json_type)
        assert bad.status_code == 400
        assert bad.json()["error"]["type"] == "invalid_request_error"
        wrong = await http.post(f"{server.base_url}/v1/responses", json={"input": 5})
        assert wrong.status_code == 400 and "input" in wrong.json()["error"]["message"]
        missing = await http.get(f"{server.base_url}/v1/nothing")
        assert missing.status_code == 404 and "error" in missing.json()
        method = await http.get(f"{server.base_url}/v1/responses")
        assert method.status_code == 405 and "error" in method.json()


@pytest.mark.anyio
async def test_openai_sdk_reads_the_stream_and_the_json() -> None:
    from openai import AsyncOpenAI

    async with start_model_server() as server:
        client = AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)
        stream = await client.responses.create(
            model="playbook", input=PROMPT, stream=True,
            tools=[{"type": "function", "name": "team_read_board", "strict": False,
                    "parameters": {"type": "object", "properties": {}}}],
        )
        kinds = [event.type async for event in stream]
        assert kinds == ["response.created", "response.output_item.added",
                         "response.output_item.done", "response.completed"]
        response = await client.responses.create(model="playbook", input="You are the tester.")
        assert response.output_text == "nothing to do."
        assert response.usage is not None and response.usage.total_tokens > 0
        await client.close()


@pytest.mark.anyio
async def test_chat_completions_round_trip_with_the_openai_sdk() -> None:
    from openai import AsyncOpenAI

    tools: Any = [{"type": "function", "function": {
        "name": t.name, "description": t.description, "parameters": t.input_schema}}
        for t in team_tools()]
    messages: Any = [{"role": "system", "content": "harness instructions"},
                     {"role": "user", "content": ENVIRONMENT},
                     {"role": "user", "content": PROMPT}]
    async with start_model_server() as server:
        client = AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)
        first = await client.chat.completions.create(model="playbook", messages=messages,
                                                     tools=tools)
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
        call: Any = choice.message.tool_calls[0]
        assert call.function.name == "team_read_board"
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call.id, "type": "function",
                 "function": {"name": call.function.name,
                              "arguments": call.function.arguments}}]},
            {"role": "tool", "tool_call_id": call.id, "content": "BOARD: empty"},
        ]
        stream = await client.chat.completions.create(
            model="playbook", messages=messages, tools=tools, stream=True,
            stream_options={"include_usage": True})
        text, finish, usage = "", None, None
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
            usage = chunk.usage or usage
        assert finish == "stop" and usage is not None
        assert text.splitlines()[0] == "called team_read_board."
        assert "team_read_board returned: BOARD: empty" in text
        async with httpx.AsyncClient(timeout=10) as http:
            bad = await http.post(f"{server.base_url}/v1/chat/completions",
                                  json={"messages": "hi"})
        assert bad.status_code == 400 and "messages" in bad.json()["error"]["message"]
        await client.close()


@pytest.mark.anyio
async def test_a_taken_port_is_a_clear_error_not_an_exit() -> None:
    from teammesh.brain.server import ModelServerError

    async with start_model_server() as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        with pytest.raises(ModelServerError, match=f"127.0.0.1:{port}"):
            async with start_model_server(port=port):
                pass
        with pytest.raises(ModelServerError):
            ModelServerThread(port=port).start()
