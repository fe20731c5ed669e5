"""`GET /api/config` never shows the gateway's own bearer token, even when it came from
`--token` or the token file (not the environment) and a project layer quotes it verbatim."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from teammesh.brain.server import ModelServerThread
from teammesh.gateway.embedded import GatewayThread
from teammesh.gateway.runtimes.registry import RuntimeSettings

pytestmark = [pytest.mark.codex]

TOKEN = f"served-token-{uuid.uuid4().hex}"


def test_config_read_redacts_the_gateways_own_token(
    codex_bin: Path, codex_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEAMMESH_TOKEN", raising=False)
    project = codex_data_dir / "leaky"
    (project / ".codex").mkdir(parents=True)
    (project / ".codex" / "config.toml").write_text(
        f'[mcp_servers.tool]\ncommand = "/bin/echo"\nargs = ["{TOKEN}"]\n')
    with ModelServerThread() as model, GatewayThread(
        data_dir=codex_data_dir / "gateway", runtime="codex", token=TOKEN,
        settings=RuntimeSettings(data_dir=codex_data_dir / "gateway", codex_bin=str(codex_bin),
                                 model_base_url=f"{model.base_url}/v1"),
    ) as gateway:
        response = httpx.get(f"{gateway.base_url}/api/config", timeout=30,
                             params={"cwd": str(project), "includeLayers": "true"},
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert TOKEN not in response.text
    layer = next(la for la in response.json()["layers"] if la["name"]["type"] == "project")
    assert layer["config"]["mcp_servers"]["tool"] == {"command": "/bin/echo",
                                                      "args": ["[redacted]"]}
