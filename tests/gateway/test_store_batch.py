"""A turn's store writes are committed together once per loop iteration, and never after a
client has been sent the event they describe (gateway/store_batch.py).

Both sides are read from the SQLite file through a second connection, as a restarted
gateway would read it: only committed rows are seen.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.fanout import Subscriber
from teammesh.gateway.session import Session
from teammesh.gateway.store import DB_FILE, Store
from teammesh.gateway.store_health import StoreHealth
from teammesh.gateway.store_writes import StoreWrites
from teammesh.gateway.transcript import Entry

from .helpers import create_session, open_stream, send, tool_reply, wait_for_frame

pytestmark = pytest.mark.anyio


def _committed_entries(data_dir: Path) -> dict[tuple[str, str], str]:
    """(turn id, message id) -> status of every transcript row on disk."""
    with sqlite3.connect(data_dir / DB_FILE) as db:
        rows = db.execute("SELECT data FROM transcript").fetchall()
    entries = [json.loads(data) for (data,) in rows]
    return {(e["turnId"], e["messageId"]): e["status"] for e in entries}


def _committed_turns(data_dir: Path) -> set[str]:
    with sqlite3.connect(data_dir / DB_FILE) as db:
        return {turn_id for (turn_id,) in db.execute("SELECT turn_id FROM turns")}


def _entry(turn_id: str, message_id: str) -> Entry:
    return {"messageId": message_id, "turnId": turn_id, "role": "assistant", "type": "message",
            "content": message_id, "status": "complete", "createdAt": 1, "updatedAt": 1}


async def test_marked_rows_land_in_one_commit_on_the_next_iteration(tmp_path: Path) -> None:
    store = Store(tmp_path)
    writes = StoreWrites(store, StoreHealth())
    session = Session(id="s1", runtime_key="playbook", cwd=str(tmp_path),
                      model_provider="openai", created_at=1, updated_at=1)
    turn = session.ensure_turn("t1", 1)
    entries = [session.transcript.upsert(_entry("t1", f"m{i}")) for i in range(3)]
    writes.later_session(session)
    for entry in entries:
        writes.later_turn(session, turn)  # marked once per item: written once
        writes.later_entries(session, [entry])
    # Nothing committed yet: the batch waits for the end of this loop iteration.
    assert _committed_entries(tmp_path) == {}
    await asyncio.sleep(0)
    assert set(_committed_entries(tmp_path)) == {("t1", "m0"), ("t1", "m1"), ("t1", "m2")}
    assert _committed_turns(tmp_path) == {"t1"}
    store.close()


async def test_any_other_write_commits_the_marked_rows_first(tmp_path: Path) -> None:
    """Order is kept: a rollback (or any direct write) never overtakes marked rows, which
    would otherwise re-insert the rows it just deleted."""
    store = Store(tmp_path)
    writes = StoreWrites(store, StoreHealth())
    session = Session(id="s1", runtime_key="playbook", cwd=str(tmp_path),
                      model_provider="openai", created_at=1, updated_at=1)
    turn = session.ensure_turn("t1", 1)
    writes.later_turn(session, turn)
    assert writes.first(store.delete_turns, session.id, ["t1"]) is None
    await asyncio.sleep(0)  # the cancelled callback writes nothing back
    assert _committed_turns(tmp_path) == set()
    store.close()


async def test_a_socket_never_sees_an_item_the_store_has_not_committed(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        session_id = await create_session(http, approvalPolicy="never")
        socket = await open_stream(gateway.base_url, session_id)
        turn_id = await send(http, session_id)
        seen: list[tuple[str, str]] = []

        async def check_next_item() -> None:
            frame = await wait_for_frame(socket, "app_server.item.completed")
            item = frame["payload"]["params"]["item"]
            # The frame is on this side of the socket: its row must already be on disk.
            key = (turn_id, item["id"])
            assert _committed_entries(tmp_path).get(key) == "complete", (item, seen)
            seen.append(key)

        await check_next_item()  # the user message
        request = await wait_for_frame(socket, "tool_call_requested")
        await http.post(f"/api/tool-calls/{request['payload']['requestId']}/response",
                        json=tool_reply("sun"))
        await check_next_item()  # the tool call
        await check_next_item()  # the assistant's reply
        completed = await wait_for_frame(socket, "app_server.turn.completed")
        assert completed["payload"]["params"]["turn"]["status"] == "completed"
        await socket.close()


async def test_rows_marked_after_an_event_was_queued_are_committed_before_it_leaves(
    tmp_path: Path,
) -> None:
    """Two notifications handled in one loop iteration (codex lines read in one chunk): the
    first publishes without marking a row, the second marks one and publishes. The socket
    write is already scheduled by the first when the second marks its row; the row must
    still be on disk when the frames are written (the fan-out commits before every write).
    The subscriber's `write_now` stands in for the socket, so the check runs at the very
    moment of the write."""
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        session_id = await create_session(http, approvalPolicy="never")
        on_disk_at_write: list[str | None] = []
        written: list[str] = []

        def write_now(texts: list[str]) -> bool:
            on_disk_at_write.append(_committed_entries(tmp_path).get(("turn-x", "msg-late")))
            written.extend(json.loads(t)["type"] for t in texts)
            return True

        subscriber = Subscriber(thread_filter=session_id, write_now=write_now)
        subscriber._waiter = asyncio.get_running_loop().create_future()  # an idle writer
        gateway.hub.fanout.subscribe(subscriber)
        item = {"type": "agentMessage", "id": "msg-late", "text": "hello"}
        params = {"threadId": session_id, "turnId": "turn-x", "item": item}
        events = gateway.hub.events
        events.notification("playbook", "item/started", params)  # publishes, marks nothing
        events.notification("playbook", "item/completed", params)  # marks its entry
        await asyncio.sleep(0)  # one loop iteration: the fan-out's write
        assert "app_server.item.completed" in written
        assert on_disk_at_write == ["complete"]
        gateway.hub.fanout.unsubscribe(subscriber)
