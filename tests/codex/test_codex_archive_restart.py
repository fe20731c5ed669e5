"""An archived codex session across a gateway restart: still archived (the gateway's flag),
and unarchiving a thread the new app-server has not loaded yet works (codex.py looks its
codex id up), after which it takes turns again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from teammesh.brain.server import ModelServerThread
from teammesh.gateway.embedded import GatewayThread
from teammesh.gateway.runtimes.registry import RuntimeSettings

from .wire_helpers import ECHO_TOOL, EventStream, create_session, send_message, turn_status

pytestmark = [pytest.mark.codex, pytest.mark.anyio]


def _gateway(codex_bin: Path, data_dir: Path, model_url: str) -> GatewayThread:
    settings = RuntimeSettings(data_dir=data_dir / "gateway", codex_bin=str(codex_bin),
                               model_base_url=model_url)
    return GatewayThread(data_dir=data_dir / "gateway", runtime="codex", settings=settings)


async def test_archive_survives_a_restart_and_unarchive_reloads(
    codex_bin: Path, codex_data_dir: Path
) -> None:
    workspace = codex_data_dir / "workspace"
    workspace.mkdir()
    with ModelServerThread() as model:
        url = f"{model.base_url}/v1"
        with _gateway(codex_bin, codex_data_dir, url) as gateway:
            async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http:
                session_id = await create_session(http, cwd=str(workspace),
                                                  approvalPolicy="never",
                                                  dynamicTools=[ECHO_TOOL])
                async with EventStream(gateway.base_url, session_id) as events:
                    turn_id = await send_message(http, session_id, "Say hello.")
                    assert turn_status(await events.turn_completed(turn_id)) == "completed"
                archived = await http.post(f"/api/sessions/{session_id}/archive")
                assert archived.status_code == 200, archived.text
        with _gateway(codex_bin, codex_data_dir, url) as gateway:
            async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http:
                listed = await http.get("/api/sessions", params={"archived": "true"})
                assert [s["sessionId"] for s in listed.json()["data"]] == [session_id]
                refused = await http.post(f"/api/sessions/{session_id}/messages",
                                          json={"text": "Hi."})
                assert refused.status_code == 409, refused.text
                back = await http.post(f"/api/sessions/{session_id}/unarchive")
                assert back.status_code == 200, back.text
                async with EventStream(gateway.base_url, session_id) as events:
                    turn_id = await send_message(http, session_id, "Say hello again.")
                    assert turn_status(await events.turn_completed(turn_id)) == "completed"
