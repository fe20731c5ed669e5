"""The gateway driven over its bare wire (httpx + one websocket, no SDK): the second
gateway side of `bench.codex_overhead`. Against the SDK side it shows which part of what a
turn through the gateway adds is the gateway's and which is our client's."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

Json = dict[str, Any]
TOOL_CALL = "app_server.request.item.tool.call"
COMPLETED = "app_server.turn.completed"


class RawGatewayClient:
    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._http = httpx.AsyncClient(base_url=base_url, timeout=60)
        self._ws: ClientConnection | None = None
        self._frames: asyncio.Queue[Json] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        # The last turn's moments (perf_counter): for the per-hop breakdown.
        self.marks: dict[str, float] = {}

    async def __aenter__(self) -> RawGatewayClient:
        self._ws = await connect(self._base_url.replace("http://", "ws://") + "/api/stream")
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()
        await self._http.aclose()

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            self._frames.put_nowait(json.loads(message))

    async def create_session(self, cwd: str, tools: list[Json]) -> str:
        response = await self._http.post("/api/sessions", json={
            "cwd": cwd, "approvalPolicy": "never", "dynamicTools": tools})
        response.raise_for_status()
        return str(response.json()["session"]["sessionId"])

    async def _subscribed(self) -> None:
        # The gateway applies commands in order: a ping's pong means the filter is set.
        assert self._ws is not None
        await self._ws.send(json.dumps({"type": "ping"}))
        while (await asyncio.wait_for(self._frames.get(), 10)).get("type") != "pong":
            pass

    async def run_turn(self, session_id: str, text: str, answer: Any) -> None:
        """Message, every tool call of the session answered with `answer(arguments)` by
        POST, until the turn's `turn/completed` (which must say completed)."""
        while not self._frames.empty():
            self._frames.get_nowait()
        # Watch this session only, as a client following one session does: an unfiltered
        # socket would also receive (and this process parse) the other sides' turns.
        assert self._ws is not None
        await self._ws.send(json.dumps({"type": "subscribe", "threadId": session_id}))
        await self._subscribed()
        marks = self.marks = {"start": time.perf_counter()}
        response = await self._http.post(f"/api/sessions/{session_id}/messages",
                                         json={"text": text})
        marks["accepted"] = time.perf_counter()
        response.raise_for_status()
        turn_id = response.json()["turnId"]
        while True:
            frame = await asyncio.wait_for(self._frames.get(), 60)
            if frame.get("threadId") != session_id:
                continue
            payload = frame.get("payload") or {}
            if frame["type"] == TOOL_CALL:
                marks["call"] = time.perf_counter()
                arguments = (payload.get("params") or {}).get("arguments") or {}
                output = json.dumps(answer(arguments))
                answered = await self._http.post(
                    f"/api/tool-calls/{payload['requestId']}/response",
                    json={"contentItems": [{"type": "inputText", "text": output}],
                          "success": True})
                answered.raise_for_status()
                marks["answered"] = time.perf_counter()
            elif frame["type"] == COMPLETED:
                turn = (payload.get("params") or {}).get("turn") or {}
                if turn.get("id") == turn_id:
                    if turn.get("status") != "completed":
                        raise RuntimeError(f"turn {turn_id} ended {turn.get('status')}")
                    marks["completed"] = time.perf_counter()
                    return
