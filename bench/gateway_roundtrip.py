"""Tool-call round trip through the gateway, measured with raw websockets + httpx.

    .venv/bin/python bench/gateway_roundtrip.py [-n 1000] [--warmup 100]

The embedded gateway runs in this process; the bench plays the runtime through the hub's
`RuntimeSink` (`server_request("item/tool/call", ...)`, as every runtime does) so both ends
of the runtime side can be timed exactly. A separate client process holds the websocket,
answers each `app_server.request.item.tool.call` signal with
`POST /api/tool-calls/{requestId}/response`, and times its own side. Calls are sequential.

Figures (median and p99, milliseconds):
  published → accepted        hub publishes the signal → hub accepts the answer (200)
  emit → runtime holds result runtime calls server_request → its reply() receives the result
  published → client has 200  signal published → the client holds the 200 (cross-process;
                              both sides read CLOCK_MONOTONIC via time.perf_counter on Linux)
  client: frame → 200         client receives the frame → client holds the 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from typing import Any

import httpx
from websockets.asyncio.client import connect

from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.outcome import Outcome
from teammesh.gateway.pending import RequestKind
from teammesh.gateway.runtimes.base import ServerRequestReply
from teammesh.wire import TOOL_CALL_SIGNAL

TOOL = {
    "name": "team_pull_work",
    "description": "Claim the next task.",
    "inputSchema": {"type": "object", "properties": {}, "additionalProperties": False},
}
ANSWER = {
    "response": {"contentItems": [{"type": "inputText", "text": '{"task": null}'}], "success": True}
}


def _stats(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"{name:<30} median {statistics.median(ms):7.3f} ms   p99 {p99:7.3f} ms   (n={len(ms)})"


# --- client process ------------------------------------------------------------------------


async def client(base_url: str, count: int) -> None:
    ws_url = base_url.replace("http://", "ws://") + "/api/stream"
    received: list[float] = []
    answered: list[float] = []
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
        connect(ws_url, max_queue=None) as socket,
    ):
        json.loads(await socket.recv())  # ready
        print("ready", flush=True)
        while len(answered) < count:
            frame = json.loads(await socket.recv())
            if frame["type"] != TOOL_CALL_SIGNAL:
                continue
            got = time.perf_counter()
            request_id = frame["payload"]["requestId"]
            response = await http.post(f"/api/tool-calls/{request_id}/response", json=ANSWER)
            done = time.perf_counter()
            if response.status_code != 200:
                raise SystemExit(f"unexpected {response.status_code}: {response.text}")
            received.append(got)
            answered.append(done)
    print(json.dumps({"received": received, "answered": answered}), flush=True)


# --- gateway + runtime side ----------------------------------------------------------------


async def bench(count: int, warmup: int) -> None:
    total = count + warmup
    with tempfile.TemporaryDirectory() as data_dir:
        async with start_gateway(data_dir=data_dir) as gateway:
            hub = gateway.hub
            async with httpx.AsyncClient(base_url=gateway.base_url) as http:
                created = await http.post("/api/sessions", json={"dynamicTools": [TOOL]})
                session_id = created.json()["session"]["sessionId"]

            published: dict[int, float] = {}
            accepted: dict[str, float] = {}
            original_publish = hub.fanout.publish
            original_answer = hub.desk.answer

            def publish(
                event_type: str, thread_id: str | None, payload: Any, *, broadcast: bool = False
            ) -> None:
                original_publish(event_type, thread_id, payload, broadcast=broadcast)
                if event_type == TOOL_CALL_SIGNAL:
                    published[payload["requestId"]] = time.perf_counter()

            async def answer(kind: RequestKind, raw_id: str, body: Any) -> Outcome:
                outcome = await original_answer(kind, raw_id, body)
                accepted[raw_id] = time.perf_counter()
                return outcome

            hub.fanout.publish = publish  # type: ignore[method-assign]
            hub.desk.answer = answer  # type: ignore[method-assign]

            process = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--client",
                gateway.base_url,
                str(total),
                stdout=asyncio.subprocess.PIPE,
            )
            assert process.stdout is not None
            ready = await asyncio.wait_for(process.stdout.readline(), 30)
            assert ready.strip() == b"ready", ready

            emitted: list[float] = []
            held: list[float] = []
            ids: list[int] = []
            for index in range(total):
                got_result = asyncio.Event()

                async def reply(
                    answer: ServerRequestReply, event: asyncio.Event = got_result
                ) -> None:
                    held.append(time.perf_counter())
                    event.set()

                params = {
                    "threadId": session_id,
                    "turnId": "bench-turn",
                    "callId": f"call_{index}",
                    "tool": TOOL["name"],
                    "arguments": {},
                }
                emitted.append(time.perf_counter())
                hub.server_request("item/tool/call", params, reply)
                ids.append(max(published))
                await asyncio.wait_for(got_result.wait(), 30)
                for _ in range(1000):  # the 200 is being written; a few loop turns at most
                    if str(ids[-1]) in accepted:
                        break
                    await asyncio.sleep(0)

            line = await asyncio.wait_for(process.stdout.readline(), 60)
            await process.wait()
            client_side = json.loads(line)

    skip = slice(warmup, None)
    pub = [published[i] for i in ids]
    acc = [accepted[str(i)] for i in ids]
    print(
        f"tool-call round trip, {count} sequential calls after {warmup} warm-up "
        f"(playbook-free: this process plays the runtime)"
    )
    print(_stats("published → accepted", [a - p for p, a in zip(pub, acc, strict=True)][skip]))
    print(
        _stats(
            "emit → runtime holds result", [h - e for e, h in zip(emitted, held, strict=True)][skip]
        )
    )
    print(
        _stats(
            "published → client has 200",
            [c - p for p, c in zip(pub, client_side["answered"], strict=True)][skip],
        )
    )
    print(
        _stats(
            "client: frame → 200",
            [a - r for r, a in zip(client_side["received"], client_side["answered"], strict=True)][
                skip
            ],
        )
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        asyncio.run(client(sys.argv[2], int(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=1000, help="measured calls")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured calls first")
    args = parser.parse_args()
    asyncio.run(bench(args.n, args.warmup))


if __name__ == "__main__":
    main()
