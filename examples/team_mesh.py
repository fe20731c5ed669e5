"""The team mesh, as a readable recipe: codex-manager's team_mesh example written against
`teammesh.client`, with the same API names.

    python examples/team_mesh.py                 # starts an embedded gateway (playbook runtime)
    CODEX_MANAGER_API_BASE=http://127.0.0.1:3001 python examples/team_mesh.py

Three members (developer, docs, reviewer) each get an agent session whose five `team_*`
tools are bound, at creation time, to that member and to one shared board. One websocket
listener answers tool calls for the whole team; while the runner waits for a member's turn,
pending calls are also drained by polling (both paths share one dedupe per session). The
production runner (`teammesh demo` / `teammesh run`) adds a durable board, resume,
policies and completion criteria; this file keeps to the seed's flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from teammesh.client import AppServerSignal, AsyncCodexManager, WaitTimeoutError
from teammesh.client.replies import assistant_reply_of, turn_status_of
from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, create_board
from teammesh.mesh.prompts import DEFAULT_ROLES, INITIAL_DEVELOPER_TASK, default_prompt
from teammesh.mesh.skills import MemberSkills
from teammesh.wire import is_terminal_status

MEMBER_ORDER = ("developer", "docs", "reviewer")
HANDOFFS = {"developer": ("docs", "reviewer"), "docs": ("reviewer",), "reviewer": ()}
ROUNDS = 9
TURN_TIMEOUT_SECONDS = 120.0


@dataclass
class TeamMember:
    name: str
    session_id: str
    skills: Any  # the session's remote-skill handle


def bind_skills(board: TeamBoard, member: str) -> MemberSkills:
    """The five team_* skills of one member. `register` declares them on a draft session
    (tools can only be attached when a session is created); each skill receives its call's
    `SkillContext`, whose session and request id key the board mutation (exactly once)."""
    return MemberSkills(member=member, board=board)


def is_complete(board: TeamBoard) -> bool:
    snapshot = board.snapshot()
    return "reviewer" in snapshot["completed"] and not any(
        snapshot["queueDepths"].values())


@contextlib.asynccontextmanager
async def codex_manager() -> AsyncIterator[AsyncCodexManager]:
    if os.environ.get("CODEX_MANAGER_API_BASE", "").strip():
        async with AsyncCodexManager.from_env() as cm:
            yield cm
        return
    from teammesh.gateway.embedded import start_gateway

    # The embedded gateway gets a fresh token only this process holds: no other local
    # process can drive the team's sessions.
    token = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="team-mesh-") as data_dir:
        async with start_gateway(data_dir=data_dir, token=token) as gateway, \
                AsyncCodexManager(base_url=gateway.base_url,
                                  headers={"Authorization": f"Bearer {token}"}) as cm:
            yield cm


async def run_team_mesh(rounds: int = ROUNDS) -> None:
    async with codex_manager() as cm:
        board = create_board(run_id="example", team="default", roster=MEMBER_ORDER,
                             path=None)
        members_by_name: dict[str, TeamMember] = {}
        members_by_session: dict[str, TeamMember] = {}

        # 1. One session per member, its skills registered at creation.
        for name in MEMBER_ORDER:
            bound = bind_skills(board, name)
            created, skills = await cm.remote_skills.create_session(
                cwd=".", approval_policy="never", filesystem_sandbox="workspace-write",
                register=bound.register)
            session_id = created["session"]["sessionId"]
            await cm.sessions.rename(session_id=session_id, title=f"team-{name}")
            member = TeamMember(name, session_id, skills)
            members_by_name[name] = members_by_session[session_id] = member

        # 2. One stream listener for the whole team: route each tool call by session.
        @cm.on_app_server_request("item.tool.call")
        async def on_tool_call(signal: AppServerSignal, context: Any = None) -> None:
            member = members_by_session.get(signal.session_id or "")
            if member is None:
                return
            dispatched = await member.skills.respond_to_signal(signal)
            if dispatched is not None and not dispatched.duplicate:
                print(f"[tool-call] {member.name}: {dispatched.tool}")

        # 3. The initial task goes to the developer; members hand off the rest.
        board.queue_work("developer", INITIAL_DEVELOPER_TASK, by=SYSTEM_MEMBER)

        stop_event = asyncio.Event()
        stream_task = asyncio.create_task(cm.stream.run_forever(stop_event=stop_event))
        try:
            for round_number in range(1, rounds + 1):
                if is_complete(board):
                    break
                progressed = False
                for name in MEMBER_ORDER:
                    if board.queue_depth(name) == 0:
                        continue
                    progressed = True
                    member = members_by_name[name]
                    prompt = default_prompt(name, HANDOFFS[name], DEFAULT_ROLES[name])
                    accepted = await member.skills.send(prompt, inject_skills=False)
                    turn_id = accepted.get("turnId") if isinstance(accepted, dict) else None
                    if not turn_id:
                        continue
                    await wait_for_turn(cm, member, turn_id, round_number)
                if not progressed:
                    break
        finally:
            stop_event.set()
            stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stream_task

        print("Final board snapshot:")
        print(board.snapshot(limit=12))


async def wait_for_turn(cm: AsyncCodexManager, member: TeamMember, turn_id: str,
                        round_number: int) -> None:
    """The sync point: drain pending calls (the polling fallback) and read the session until
    the turn is over, then print the first line of the reply."""

    async def poll_turn() -> Any:
        for dispatched in await member.skills.drain_pending_calls():
            if not dispatched.duplicate:
                print(f"[tool-call] {member.name}: {dispatched.tool}")
        return await cm.sessions.get(session_id=member.session_id)

    def turn_complete(detail: Any) -> bool:
        status = turn_status_of(detail, turn_id)
        if status is None:
            return assistant_reply_of(detail, turn_id) is not None
        return is_terminal_status(status)

    try:
        detail = await cm.wait.until(
            poll_turn, predicate=turn_complete, timeout_seconds=TURN_TIMEOUT_SECONDS,
            interval_seconds=0.25,
            description=f"assistant reply for {member.name} turn {turn_id}")
    except WaitTimeoutError:
        print(f"[round {round_number}] {member.name}: timeout waiting for turn {turn_id}")
        approvals = await cm.sessions.approvals(session_id=member.session_id)
        if approvals.get("data"):
            print(f"[round {round_number}] {member.name}: pending approvals="
                  f"{len(approvals['data'])}")
        calls = await cm.sessions.tool_calls(session_id=member.session_id)
        if calls.get("data"):
            print(f"[round {round_number}] {member.name}: pending tool calls="
                  f"{len(calls['data'])}")
        return
    reply = assistant_reply_of(detail, turn_id) or ""
    first_line = reply.splitlines()[0] if reply.strip() else "(no assistant reply)"
    print(f"[round {round_number}] {member.name}: {first_line}")


if __name__ == "__main__":
    asyncio.run(run_team_mesh())
