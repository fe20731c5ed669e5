"""The bare `codex app-server` driven over stdio JSON-RPC by the bench itself: the floor a
codex turn through the gateway is compared with (`bench.codex_overhead`).

Deliberately not the gateway's own `AppServerProcess`: a few lines of framing and no
supervision, so nothing of ours sits between the bench and codex. The config is the one the
gateway writes (`codex_config`), so both sides send codex the same requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

from teammesh.gateway.runtimes.codex_binary import find_codex_binary
from teammesh.gateway.runtimes.codex_config import (
    app_server_argv,
    child_env,
    prepare_codex_home,
    provider_options,
)

Json = dict[str, Any]
TOOL_CALL = "item/tool/call"


class BareAppServer:
    def __init__(self, data_dir: Path, model_base_url: str, model: str) -> None:
        self._data_dir = data_dir
        self._provider = provider_options(model_base_url, None, model)
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[Any]] = {}
        # Server requests and notifications, in arrival order.
        self.inbox: asyncio.Queue[Json] = asyncio.Queue()
        # The last turn's moments (perf_counter): for the per-hop breakdown.
        self.marks: dict[str, float] = {}

    async def __aenter__(self) -> BareAppServer:
        home = prepare_codex_home(self._data_dir, self._provider)
        self._proc = await asyncio.create_subprocess_exec(
            *app_server_argv(find_codex_binary()), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env=child_env(home, self._provider), cwd=str(home.parent), limit=64 * 1024 * 1024)
        self._reader = asyncio.create_task(self._read())
        await self.request("initialize", {
            "clientInfo": {"name": "bench", "title": "bench", "version": "0"},
            "capabilities": {"experimentalApi": True}})
        await self._write({"method": "initialized"})
        return self

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    async def __aexit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _write(self, message: Json) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self._proc.stdin.drain()

    async def request(self, method: str, params: Json) -> Any:
        request_id, self._next_id = self._next_id, self._next_id + 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self._write({"id": request_id, "method": method, "params": params})
        return await asyncio.wait_for(future, 60)

    async def respond(self, request_id: Any, result: Json) -> None:
        await self._write({"id": request_id, "result": result})

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            message = json.loads(line)
            if "method" in message:
                await self.inbox.put(message)
                continue
            future = self._pending.pop(message.get("id"), None)
            if future is None or future.done():
                continue
            if "error" in message:
                future.set_exception(RuntimeError(f"codex: {message['error']}"))
            else:
                future.set_result(message.get("result"))

    async def start_thread(self, cwd: str, tools: list[Json]) -> str:
        result = await self.request("thread/start", {
            "cwd": cwd, "approvalPolicy": "never", "sandbox": "read-only",
            "dynamicTools": tools})
        return str(result["thread"]["id"])

    async def run_turn(self, thread_id: str, text: str, answer: Any) -> None:
        """One turn: `turn/start`, every tool call answered with `answer(arguments)`, until
        `turn/completed` (which must say completed)."""
        marks = self.marks = {"start": time.perf_counter()}
        # The controls the gateway's codex runtime sends with every turn (codex_mapping).
        result = await self.request("turn/start", {
            "threadId": thread_id, "input": [{"type": "text", "text": text}],
            "approvalPolicy": "never", "sandboxPolicy": {"type": "readOnly"}})
        turn_id = result["turn"]["id"]
        while True:
            message = await asyncio.wait_for(self.inbox.get(), 60)
            method, params = message["method"], message.get("params") or {}
            if method == TOOL_CALL and "id" in message:
                marks["call"] = time.perf_counter()
                output = json.dumps(answer(params.get("arguments") or {}))
                await self.respond(message["id"], {
                    "contentItems": [{"type": "inputText", "text": output}], "success": True})
                marks["answered"] = time.perf_counter()
            elif "id" in message:  # any other server request: refuse, as a client would
                await self._write({"id": message["id"], "error": {
                    "code": -32601, "message": f"unsupported: {method}"}})
            elif method == "turn/completed" and params.get("turn", {}).get("id") == turn_id:
                status = params["turn"].get("status")
                if status != "completed":
                    raise RuntimeError(f"bare codex turn ended {status}: {params}")
                marks["completed"] = time.perf_counter()
                return
