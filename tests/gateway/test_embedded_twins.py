"""The sync twins of the embedded servers (`GatewayThread`, `ModelServerThread`), written
once in `teammesh.serving.thread_twin`: they take exactly their async function's arguments
(a wrong one fails at construction, as a call would), serve real requests on loopback, and
report a startup failure to the thread that started them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.brain.server import ModelServerError, ModelServerThread
from teammesh.gateway.embedded import GatewayThread, InsecureBindError


def test_a_twin_refuses_an_argument_its_async_function_does_not_take(tmp_path: Path) -> None:
    wrong: dict[str, Any] = {"prot": 0}  # a typo of `port`
    with pytest.raises(TypeError, match="prot"):
        GatewayThread(data_dir=tmp_path, **wrong)
    with pytest.raises(TypeError, match="prot"):
        ModelServerThread(**wrong)
    missing: dict[str, Any] = {}
    with pytest.raises(TypeError, match="data_dir"):
        GatewayThread(**missing)
    assert list(tmp_path.iterdir()) == []  # nothing was started or written


def test_the_gateway_twin_checks_its_bind_before_any_thread(tmp_path: Path) -> None:
    with pytest.raises(InsecureBindError):
        GatewayThread(data_dir=tmp_path / "gw", host="0.0.0.0")
    with pytest.raises(ValueError):  # a bad Host allow-list entry fails at construction
        GatewayThread(data_dir=tmp_path / "gw", allow_hosts=["bad host/name"])
    assert not (tmp_path / "gw").exists()


def test_twins_serve_on_their_own_loop_and_stop(tmp_path: Path) -> None:
    with GatewayThread(data_dir=tmp_path / "gw") as gateway, \
            ModelServerThread(think_ms=0) as model:
        health = httpx.get(gateway.base_url + "/api/health", timeout=10)
        assert health.status_code == 200
        models = httpx.get(model.base_url + "/v1/models", timeout=10)
        assert models.status_code == 200
        assert [m["id"] for m in models.json()["data"]] == ["playbook"]
        gateway_url, model_url = gateway.base_url, model.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(gateway_url + "/api/health", timeout=5)
    with pytest.raises(httpx.ConnectError):
        httpx.get(model_url + "/v1/models", timeout=5)
    with pytest.raises(RuntimeError, match="not running"):
        _ = model.base_url


def test_a_twin_reports_why_it_could_not_start(tmp_path: Path) -> None:
    with GatewayThread(data_dir=tmp_path / "a") as running:
        port = int(running.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            GatewayThread(data_dir=tmp_path / "b", port=port).start()
        with pytest.raises(ModelServerError, match=f"127.0.0.1:{port}"):
            ModelServerThread(port=port).start()
