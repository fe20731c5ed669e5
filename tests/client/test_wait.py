"""Wait helpers against the real gateway, event-driven (stream running) and polling."""

from __future__ import annotations

import asyncio

import pytest

from teammesh.client import AsyncCodexManager, WaitTimeoutError
from teammesh.gateway.embedded import GatewayThread

pytestmark = pytest.mark.anyio


async def test_polling_waits(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        session_id = (await cm.sessions.create())["session"]["sessionId"]
        reply = await cm.wait.send_message_and_wait_reply(
            session_id=session_id, text="hello there", timeout_seconds=20, interval_seconds=0.02
        )
        assert reply.accepted is not None and reply.accepted["turnId"] == reply.turn_id
        assert reply.assistant_reply and reply.session_id == session_id
        assert reply.detail["session"]["sessionId"] == session_id
        assert not cm.turns.covers(session_id)  # no stream: this was polling
        assert (
            await cm.wait.turn_status(
                session_id=session_id, turn_id=reply.turn_id, expected=["COMPLETED", "failed"]
            )
            == "completed"
        )
        assert await cm.wait.turn_status(session_id=session_id, turn_id="nope") is None
        assert (
            await cm.wait.turn_completed(session_id=session_id, turn_id=reply.turn_id)
            == "completed"
        )
        with pytest.raises(ValueError, match="missing turnId"):
            await cm.wait.send_message_and_wait_reply(session_id="missing", text="x")


async def test_timeouts(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        session_id = (await cm.sessions.create(model="playbook?think_ms=3000"))["session"][
            "sessionId"
        ]
        accepted = await cm.sessions.send_message(session_id, "slow")
        with pytest.raises(WaitTimeoutError, match="assistant reply for turn"):
            await cm.wait.assistant_reply(
                session_id=session_id, turn_id=accepted["turnId"], timeout_seconds=0.2
            )
        with pytest.raises(WaitTimeoutError, match="completion did not match"):
            await cm.wait.turn_completed(
                session_id=session_id, turn_id=accepted["turnId"], timeout_seconds=0.2
            )
        await cm.sessions.interrupt(session_id)
        # An interrupted turn has no reply: assistant_reply fails fast, not at the timeout.
        with pytest.raises(WaitTimeoutError, match="completed without an assistant reply"):
            await cm.wait.assistant_reply(
                session_id=session_id, turn_id=accepted["turnId"], timeout_seconds=30
            )


async def test_event_driven_waits_use_the_stream(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        stop = asyncio.Event()
        task = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
        try:
            # The turn outlasts the first GET, so only the stream can end the wait early.
            created = await cm.sessions.create(model="playbook?think_ms=300")
            session_id = created["session"]["sessionId"]
            async with asyncio.timeout(10):
                while not cm.turns.covers(session_id):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            gets: list[str] = []
            cm.before("sessions.get")(lambda call: gets.append(call.path))
            accepted = await cm.sessions.send_message(session_id, "quick")
            # A huge poll interval: only the stream can end these waits in time.
            status = await cm.wait.turn_completed(
                session_id=session_id,
                turn_id=accepted["turnId"],
                timeout_seconds=20,
                interval_seconds=30,
            )
            assert status == "completed"
            reply = await cm.wait.assistant_reply(
                session_id=session_id,
                turn_id=accepted["turnId"],
                timeout_seconds=20,
                interval_seconds=30,
            )
            assert reply.assistant_reply
            assert cm.turns.completed_status(session_id, accepted["turnId"]) == "completed"
            assert len(gets) <= 3
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
