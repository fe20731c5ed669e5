"""Measure the codex runtime (not a test): `python -m bench.measure_codex [--runs N]`.

Prints medians of N runs, for the figures quoted in `docs/codex.md`:

* app-server start (spawn → `initialize` answered → `initialized` sent), with a fresh and a
  reused `CODEX_HOME`;
* one dynamic tool call through the gateway, as a websocket + HTTP client sees it:
  `POST .../messages` → tool-call signal, the answer's `POST .../response`, tool-call signal →
  `turn/completed` (answer + codex's second model request + completion), and the whole turn;
* the seed team's makespan (`TeamRunner.run()`, 3 members, 13 tool calls) on a fresh gateway,
  on the codex runtime (app-server start included: it is spawned by the first session) and,
  for comparison, on the in-process playbook runtime.

Everything is real and local: the codex binary from `.cache/codex`, `teammesh model serve`
on 127.0.0.1, the gateway on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from tests.codex.wire_helpers import (
    ECHO_TOOL,
    EventStream,
    answer_tool_call,
    create_session,
    echo_prompt,
    send_message,
)

from teammesh.brain.server import ModelServerThread
from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import GatewayThread, start_gateway
from teammesh.gateway.runtimes.base import JsonObject, ReplyFn, RuntimeSink
from teammesh.gateway.runtimes.codex import CodexRuntime
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team

REPO_ROOT = Path(__file__).resolve().parents[1]


class _DiscardingSink(RuntimeSink):
    """Only the start is timed here; nothing reaches a hub."""

    def notify(self, method: str, params: JsonObject) -> None:
        pass

    def server_request(self, method: str, params: JsonObject, reply: ReplyFn) -> None:
        pass

    def runtime_exited(self, reason: str) -> None:
        pass


@contextmanager
def scratch_dir() -> Iterator[Path]:
    path = REPO_ROOT / ".cache" / "measure" / uuid.uuid4().hex[:12]
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def app_server_start_s(data_dir: Path, base_url: str) -> float:
    runtime = CodexRuntime(RuntimeSettings(data_dir=data_dir, model_base_url=base_url))
    await runtime.start(_DiscardingSink())
    try:
        assert runtime.last_start_s is not None
        return runtime.last_start_s
    finally:
        await runtime.stop()


async def measure_starts(runs: int, base_url: str) -> dict[str, float]:
    fresh: list[float] = []
    reused: list[float] = []
    with scratch_dir() as root:
        for index in range(runs):
            fresh.append(await app_server_start_s(root / f"fresh-{index}", base_url))
        for _ in range(runs):
            reused.append(await app_server_start_s(root / "fresh-0", base_url))
    return {
        "app-server start, fresh CODEX_HOME": statistics.median(fresh),
        "app-server start, reused CODEX_HOME": statistics.median(reused),
    }


async def measure_tool_calls(runs: int, gateway_url: str, workspace: Path) -> dict[str, float]:
    to_signal: list[float] = []
    answer_post: list[float] = []
    to_completion: list[float] = []
    whole_turn: list[float] = []
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        session_id = await create_session(
            http, cwd=str(workspace), approvalPolicy="never", dynamicTools=[ECHO_TOOL]
        )
        for value in range(runs + 1):  # the first turn warms up; it is not counted
            async with EventStream(gateway_url, session_id) as events:
                started = time.perf_counter()
                turn_id = await send_message(http, session_id, echo_prompt(value))
                signal = await events.event("app_server.request.item.tool.call")
                signalled = time.perf_counter()
                response = await answer_tool_call(http, str(signal["payload"]["requestId"]), "ok")
                answered = time.perf_counter()
                assert response.status_code == 200, response.text
                await events.turn_completed(turn_id)
                completed = time.perf_counter()
            if value:
                to_signal.append(signalled - started)
                answer_post.append(answered - signalled)
                to_completion.append(completed - signalled)
                whole_turn.append(completed - started)
    return {
        "POST messages → tool-call signal on the websocket": statistics.median(to_signal),
        "answer POST /api/tool-calls/{id}/response": statistics.median(answer_post),
        "tool-call signal → turn/completed (answer, 2nd model call)": statistics.median(
            to_completion
        ),
        "whole turn (2 model calls + 1 tool call)": statistics.median(whole_turn),
    }


class _Quiet:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


async def team_makespan_s(runtime: str, root: Path, base_url: str) -> float:
    team = builtin_team()
    board = create_board(
        run_id=root.name, team=team.name, roster=team.roster, path=root / "board.sqlite"
    )
    settings = RuntimeSettings(data_dir=root / "gateway", model_base_url=base_url)
    try:
        async with (
            start_gateway(data_dir=root / "gateway", runtime=runtime, settings=settings) as gw,
            AsyncCodexManager(base_url=gw.base_url) as cm,
        ):
            printer = Printer(out=_Quiet(), notes=_Quiet())
            runner = TeamRunner(cm, team, board, RunOptions(turn_timeout=60), printer)
            started = time.perf_counter()
            outcome = await runner.run()
            elapsed = time.perf_counter() - started
        assert outcome.complete and outcome.tool_calls == 13, outcome.reason
        return elapsed
    finally:
        board.close()


async def measure_makespans(runs: int, base_url: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    for runtime in ("codex", "playbook"):
        samples: list[float] = []
        for _ in range(runs):
            with scratch_dir() as root:
                samples.append(await team_makespan_s(runtime, root, base_url))
        figures[f"seed team makespan, {runtime} runtime (fresh gateway)"] = statistics.median(
            samples
        )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with ModelServerThread() as model, scratch_dir() as root:
        base_url = f"{model.base_url}/v1"
        figures.update(asyncio.run(measure_starts(args.runs, base_url)))
        workspace = root / "workspace"
        workspace.mkdir()
        settings = RuntimeSettings(data_dir=root / "gateway", model_base_url=base_url)
        with GatewayThread(data_dir=root / "gateway", runtime="codex", settings=settings) as gw:
            figures.update(asyncio.run(measure_tool_calls(args.runs, gw.base_url, workspace)))
        figures.update(asyncio.run(measure_makespans(args.runs, base_url)))
    print(f"codex runtime figures, median of {args.runs} runs:")
    for name, seconds in figures.items():
        print(f"  {name:<62} {1000 * seconds:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
