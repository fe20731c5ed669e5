"""Token usage on the board for a real-model run: the seed team through the real gateway's
llm runtime (pydantic-ai) against the real playbook model server, whose responses report
usage. Every turn records what its model responses used, summed exactly as the gateway's
own `thread/tokenUsage/updated` events say (heard here by a second, independent stream
client), with the model that answered; a local model has no price, so the cost is unknown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from teammesh.brain.server import start_model_server
from teammesh.client import AsyncCodexManager, StreamEvent
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board
from teammesh.mesh.board.run_record import Usage
from teammesh.mesh.output import Printer
from teammesh.mesh.run_usage import USAGE_EVENT, usage_of
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team


class _Quiet:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.anyio
async def test_each_turn_records_the_usage_the_gateway_reported(tmp_path: Path) -> None:
    team = builtin_team()
    board = create_board(run_id="llm-usage", team=team.name, roster=team.roster,
                         path=tmp_path / "board.sqlite")
    heard: dict[str, Usage] = {}  # turn id -> the sum of its responses' `last`

    def hear(event: StreamEvent, context: object = None) -> None:
        payload = event.payload if isinstance(event.payload, dict) else {}
        last = usage_of((payload.get("tokenUsage") or {}).get("last"))
        assert last is not None
        turn = str(payload.get("turnId"))
        heard[turn] = heard.get(turn, Usage()) + last

    async with start_model_server() as model:
        spec = f"llm?model=openai-responses:playbook&model_base_url={model.base_url}/v1"
        async with start_gateway(data_dir=tmp_path / "gw", runtime=spec) as gateway, \
                AsyncCodexManager(base_url=gateway.base_url) as cm, \
                AsyncCodexManager(base_url=gateway.base_url) as listener:
            listener.on_event(USAGE_EVENT)(hear)
            listener.stream.event_types = frozenset({USAGE_EVENT})
            stop = asyncio.Event()
            listening = asyncio.create_task(listener.stream.run_forever(stop_event=stop))
            printer = Printer(out=_Quiet(), notes=_Quiet())
            outcome = await TeamRunner(cm, team, board, RunOptions(turn_timeout=60),
                                       printer).run()
            await asyncio.sleep(0.2)  # the listener's last frames
            stop.set()
            listening.cancel()
    assert outcome.complete, (outcome.reason, printer.lines)
    record = board.run_record()
    assert [t.member for t in record.turns] == ["developer", "docs", "reviewer"]
    for turn in record.turns:
        assert turn.usage is not None and turn.usage.input_tokens > 0
        assert turn.usage.output_tokens > 0
        assert turn.usage == heard[str(turn.turn_id)], turn
        assert turn.model == "teammesh-model/playbook"
    total = Usage()
    for usage in heard.values():
        total = total + usage
    assert record.usage_total() == total
    assert set(record.usage_by_member()) == {"developer", "docs", "reviewer"}
    assert record.cost_usd() is None  # our own model server has no price
    assert len(record.calls) == 13
    assert {c.outcome for c in record.calls} == {"applied"}
    board.close()


@pytest.mark.anyio
async def test_the_playbook_runtime_records_no_usage(tmp_path: Path) -> None:
    """No model, no usage: unknown (None), never a made-up zero."""
    team = builtin_team()
    board = create_board(run_id="pb", team=team.name, roster=team.roster, path=None)
    async with start_gateway(data_dir=tmp_path / "gw") as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        outcome = await TeamRunner(cm, team, board, RunOptions(turn_timeout=30),
                                   Printer(out=_Quiet(), notes=_Quiet())).run()
    assert outcome.complete
    record = board.run_record()
    assert len(record.turns) == 3 and all(t.usage is None for t in record.turns)
    assert not record.has_usage() and record.cost_usd() is None
    assert all(t.started_at is not None and t.ended_at is not None for t in record.turns)
    assert len(record.calls) == 13


def test_the_model_a_run_or_member_names() -> None:
    from teammesh.mesh.run_usage import launch_model, named_model

    assert named_model("codex?model=gpt-5") == "gpt-5"
    assert named_model("codex:gpt-5") == "codex:gpt-5"  # pricing reads the prefix
    assert named_model("codex") is None and named_model("playbook") is None
    assert named_model(None) is None and named_model("  ") is None
    assert launch_model({"launch": {"runtime": "codex", "model": "gpt-5-codex"}}) == (
        "gpt-5-codex")
    assert launch_model({"launch": {"runtime": "llm?model=openai:gpt-4o"}}) == "openai:gpt-4o"
    assert launch_model({"launch": {"runtime": "codex"}}) is None and launch_model({}) is None
