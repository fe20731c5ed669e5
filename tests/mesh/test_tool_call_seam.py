"""The tool-call seam over a real gateway: a team skill gets its call's `SkillContext` as an
explicit argument (no contextvar: it works from a fresh task with an empty context), the
board keys the call by that context's session and request id, and the runner counts a call
once however often its request id is replayed (from the dispatch result, never again for a
duplicate)."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from teammesh.client import AppServerSignal, AsyncCodexManager, SkillContext, current_call
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, create_board
from teammesh.mesh.calls import MemberState, ToolCalls
from teammesh.mesh.output import Printer
from teammesh.mesh.policies import ApprovalGate
from teammesh.mesh.sessions import create_session
from teammesh.mesh.skills import MemberSkills, SkillHandler
from teammesh.mesh.team import Member
from teammesh.wire import TOOL_CALL_SIGNAL

ROSTER = ("developer", "docs", "reviewer")
T = TypeVar("T")
ARTIFACT = {"kind": "note", "summary": "explicit context"}


def _board(tmp_path: Path) -> TeamBoard:
    board = create_board(run_id="run-seam", team="default", roster=ROSTER,
                         path=tmp_path / "board.sqlite")
    board.queue_work("developer", "the initial task", by=SYSTEM_MEMBER)
    return board


async def _send(handle: Any, tool: str, arguments: dict[str, Any]) -> str:
    prompt = (f"Process for this turn:\n1. Call {tool} with {json.dumps(arguments)}.\n"
              "2. Reply with done.")
    return str((await handle.send(prompt, inject_skills=False))["turnId"])


async def _eventually(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    for _ in range(400):
        if (found := await probe()) is not None:
            return found
        await asyncio.sleep(0.025)
    raise AssertionError(f"{what}: not within 10 s")


async def _until_done(cm: AsyncCodexManager, session_id: str, turn_id: str,
                      step: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    """Run `step` (an answering pass) until the turn is over; its one dynamicToolCall item."""

    async def finished() -> dict[str, Any] | None:
        await step()
        detail = await cm.sessions.get(session_id)
        turn = next(t for t in detail["thread"]["turns"] if t["id"] == turn_id)
        if turn["status"] == "inProgress":
            return None
        assert turn["status"] == "completed", turn
        (item,) = [i for i in turn["items"] if i.get("type") == "dynamicToolCall"]
        return dict(item)

    return await _eventually(finished, f"turn {turn_id} finishing")


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_a_skill_gets_its_context_explicitly_and_needs_no_contextvar(
    tmp_path: Path,
) -> None:
    board = _board(tmp_path)
    skills = MemberSkills(member="developer", board=board)
    seen: list[SkillContext] = []
    in_fresh_task: list[SkillContext | None] = []

    def in_a_fresh_task(tool: str, method: SkillHandler) -> SkillHandler:
        async def handler(ctx: SkillContext, **arguments: Any) -> Any:
            seen.append(ctx)

            async def run() -> Any:
                with pytest.deprecated_call():
                    in_fresh_task.append(current_call())
                return method(ctx, **arguments)

            # An empty context: nothing a contextvar set would reach the skill here.
            return await asyncio.create_task(run(), context=contextvars.Context())

        return handler

    async with start_gateway(data_dir=tmp_path / "gateway") as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        _created, handle = await cm.remote_skills.create_session(
            register=lambda draft: skills.register(draft, in_a_fresh_task),
            approval_policy="never")
        turn_id = await _send(handle, "team_publish_artifact", ARTIFACT)
        item = await _until_done(cm, handle.session_id, turn_id, handle.drain_pending_calls)

    assert item["success"] is True, item
    (ctx,) = seen
    assert in_fresh_task == [None]  # the contextvar was not there, the call still worked
    assert (ctx.tool, ctx.session_id, ctx.turn_id) == (
        "team_publish_artifact", handle.session_id, turn_id)
    assert ctx.request_id is not None and ctx.request_id.strip() == ctx.request_id
    assert ctx.arguments == ARTIFACT
    # The board keyed the call by the context's own session and request id.
    assert [r.key for r in board.records()] == [f"{handle.session_id}:{ctx.request_id}"]
    assert [(a.member, a.kind, a.summary) for a in board.artifacts()] == [
        ("developer", "note", "explicit context")]


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_a_call_is_counted_once_however_often_its_request_id_is_replayed(
    tmp_path: Path,
) -> None:
    board = _board(tmp_path)
    out = io.StringIO()
    calls = ToolCalls(board, Printer(out=out, notes=io.StringIO()),
                      ApprovalGate((), board, None), on_change=lambda: None)
    async with start_gateway(data_dir=tmp_path / "gateway") as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        member = MemberState(spec=Member(name="developer", role="dev"),
                             skills=MemberSkills(member="developer", board=board), cm=cm)
        member.session = await create_session(cm, {"approval_policy": "never"},
                                              "team-developer", calls.register_for(member))
        session_id = member.session.session_id
        handle = member.session.handle
        turn_id = await _send(handle, "team_publish_artifact", ARTIFACT)
        async def pending() -> list[dict[str, Any]] | None:
            return (await cm.sessions.tool_calls(session_id))["data"] or None

        (row,) = await _eventually(pending, "the call pending")
        # The websocket path answers it (routed by the signal's own session id)...
        signal = AppServerSignal(
            event_type=TOOL_CALL_SIGNAL, method="item/tool/call", signal_type="request",
            received_at=None, context={"threadId": session_id, "turnId": turn_id},
            params={"tool": row["tool"], "arguments": row["arguments"],
                    "callId": row.get("callId")},
            session={"id": session_id}, request_id=row["requestId"])
        calls.by_session[session_id] = member
        first = await handle.respond_to_signal(signal)
        assert first is not None and first.handled and not first.duplicate
        # ...then the same request id comes back by every path, in every spelling.
        replays = [await handle.respond_to_pending_call(row),
                   await handle.respond_to_signal(signal)]
        raw = row["requestId"]
        # 42 and " 42 " are one request id (normalised once, in `normalize_request_id`).
        again = dataclasses.replace(
            signal, request_id=f" {raw} " if isinstance(raw, str) else str(raw))
        replays.append(await handle.respond_to_signal(again))
        await calls.on_signal(again)
        item = await _until_done(cm, session_id, turn_id, lambda: calls.drain(member))
        calls.cancel_all()

    assert item["success"] is True, item
    assert all(r is not None and r.duplicate for r in replays), replays
    assert calls.count == 1
    assert out.getvalue().splitlines() == ["[tool-call] developer: team_publish_artifact"]
    assert len(board.artifacts()) == 1 and len(board.records()) == 1
