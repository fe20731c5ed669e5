"""Measure the brain and the llm runtime (not a test): `python -m bench.measure_brain`.

Prints medians of N runs:

* `decide()` per model step, over the developer's default turn (6 steps);
* one `POST /v1/responses` to `teammesh model serve` on 127.0.0.1, JSON and SSE;
* the seed team's makespan (`TeamRunner.run()`, 3 members, 13 tool calls) on a fresh gateway,
  on the in-process playbook runtime and on the llm runtime (pydantic-ai → the model
  server over HTTP, Responses API). The first llm run also pays the pydantic-ai imports.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from tests.brain.schemas import spec_responder, team_tools

from teammesh.brain.playbook import decide
from teammesh.brain.server import start_model_server
from teammesh.brain.types import ConversationItem, ToolOutput, UserMessage
from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.prompts import default_prompt
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team


class _Quiet:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def decide_us_per_step(turns: int) -> float:
    tools = team_tools(["docs", "reviewer"])
    prompt = default_prompt("developer", ["docs", "reviewer"])
    respond = spec_responder("Draft plan X")
    steps = 0
    started = time.perf_counter()
    for _ in range(turns):
        conversation: list[ConversationItem] = [UserMessage(prompt)]
        while True:
            action = decide(conversation, tools)
            steps += 1
            if action.is_final:
                break
            call = action.tool_calls[0]
            text, ok = respond(call)
            conversation += [call, ToolOutput(call.call_id, text, ok)]
    return (time.perf_counter() - started) / steps * 1e6


async def server_ms(requests: int) -> dict[str, float]:
    body = {
        "model": "playbook",
        "input": default_prompt("developer", ["docs", "reviewer"]),
        "tools": [{"type": "function", "name": t.name, "parameters": t.input_schema}
                  for t in team_tools()],
    }
    medians: dict[str, float] = {}
    async with start_model_server() as server, \
            httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        for stream in (False, True):
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                reply = await http.post("/v1/responses", json={**body, "stream": stream})
                reply.raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            medians["SSE" if stream else "JSON"] = statistics.median(times)
    return medians


async def team_ms(runtime: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            team = builtin_team()
            board = create_board(run_id="m", team=team.name, roster=team.roster,
                                 path=root / "board.sqlite")
            async with start_model_server() as model:
                spec = runtime
                if runtime == "llm":
                    spec = (f"llm?model=openai-responses:playbook"
                            f"&model_base_url={model.base_url}/v1")
                async with start_gateway(data_dir=root / "gw", runtime=spec) as gateway, \
                        AsyncCodexManager(base_url=gateway.base_url) as cm:
                    runner = TeamRunner(cm, team, board, RunOptions(turn_timeout=60),
                                        Printer(out=_Quiet(), notes=_Quiet()))
                    started = time.perf_counter()
                    outcome = await runner.run()
                    times.append((time.perf_counter() - started) * 1000)
            board.close()
            if not outcome.complete:
                raise SystemExit(f"the team did not complete on {runtime}: {outcome.reason}")
    return times


async def main(runs: int) -> None:
    print(f"decide(): {decide_us_per_step(200):.0f} us per model step")
    for kind, median in (await server_ms(200)).items():
        print(f"model server POST /v1/responses ({kind}): median {median:.2f} ms")
    for runtime in ("playbook", "llm"):
        times = await team_ms(runtime, runs)
        shown = ", ".join(f"{t:.0f}" for t in times)
        print(f"seed team makespan on {runtime}: median {statistics.median(times):.0f} ms"
              f" ({shown})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
