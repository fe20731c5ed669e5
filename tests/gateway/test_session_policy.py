"""Session options are not operator settings, the runtime pool is bounded, and the operator's
ceiling holds on create and on every message (real gateway, real HTTP)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.gateway.session_policy import SessionCeiling

from .helpers import create_session, gateway_and_http, send

pytestmark = pytest.mark.anyio


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _spy_binary(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that leaves a marker file if anything ever runs it."""
    marker = tmp_path / "spy-ran"
    spy = tmp_path / "spy"
    spy.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 30\n")
    spy.chmod(spy.stat().st_mode | stat.S_IXUSR)
    return spy, marker


ATTACKS = {
    "codex_bin": "codex?codex_bin={spy}",
    "model_base_url": "llm?model_base_url=http://127.0.0.1:9/v1&model=gpt-4o",
    "model_api_key_env": "llm?model_api_key_env=AWS_SECRET_ACCESS_KEY",
    "data_dir": "playbook?data_dir=/",
    "tool_call_deadline_s": "playbook?tool_call_deadline_s=0.001",
    "bogus": "playbook?bogus=1",
}


@pytest.mark.parametrize("option", sorted(ATTACKS))
async def test_operator_options_from_a_client_are_400s_naming_them(
    tmp_path: Path, option: str
) -> None:
    spy, marker = _spy_binary(tmp_path)
    model = ATTACKS[option].format(spy=spy)
    async with gateway_and_http(tmp_path / "gw") as (gateway, http):
        before = _children()
        for body in ({"model": model}, {"model": model, "cwd": "."}):
            response = await http.post("/api/sessions", json=body)
            assert response.status_code == 400, response.text
            error = response.json()
            assert error["code"] == "invalid_request" and error["status"] == "error"
            assert error["option"] == option and repr(option) in error["message"]
            if option != "bogus":
                assert "operator setting" in error["message"]
                assert "teammesh serve --" in error["message"]
        listed = (await http.get("/api/sessions")).json()["data"]
        assert listed == []
        assert _children() == before
        assert gateway.hub.runtimes.live_count == 0
    assert not marker.exists()


async def test_a_message_cannot_carry_session_options(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path / "gw") as (_, http):
        session_id = await create_session(http)
        for model in ("playbook?codex_bin=/bin/sh", "playbook?think_ms=5", "codex:gpt-5"):
            response = await http.post(
                f"/api/sessions/{session_id}/messages", json={"text": "hi", "model": model}
            )
            assert response.status_code == 400, (model, response.text)
            assert response.json()["code"] == "invalid_request"
        detail = (await http.get(f"/api/sessions/{session_id}")).json()
        assert detail["thread"]["turns"] == []  # the refusals started nothing
        await send(http, session_id)  # and the session still takes a plain message


async def test_client_options_are_range_checked(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path / "gw") as (_, http):
        for model in ("playbook?think_ms=-1", "playbook?think_ms=60001",
                      "playbook?think_ms=abc", "llm?think_ms=5", "gpt 4o", "x" * 300):
            response = await http.post("/api/sessions", json={"model": model})
            assert response.status_code == 400, (model, response.text)
        for model in ("playbook?think_ms=1", "playbook?think_ms=60000", "playbook:brain-v1",
                      "gpt-anything", "playbook?model=x"):
            response = await http.post("/api/sessions", json={"model": model})
            assert response.status_code == 200, (model, response.text)


async def test_non_ascii_or_overlong_option_digits_are_400s_not_500s(tmp_path: Path) -> None:
    # "²".isdigit() is True but int("²") raises; 5000 digits exceed int()'s 4300 limit.
    # Both were 500 internal_error (a traceback per request); "٣" was taken as 3.
    async with gateway_and_http(tmp_path / "gw") as (gateway, http):
        for model in ("playbook?think_ms=\u00b2", "playbook?think_ms=%C2%B2",
                      "playbook?think_ms=\u0663", "playbook?think_ms=" + "0" * 5000 + "1",
                      "playbook?think_ms=" + "9" * 5000):
            response = await http.post("/api/sessions", json={"model": model})
            assert response.status_code == 400, (model[:40], response.text)
            error = response.json()
            assert error["code"] == "invalid_request" and error["option"] == "think_ms"
        assert (await http.get("/api/sessions")).json()["data"] == []
        assert gateway.hub.runtimes.live_count == 0


async def test_thirty_distinct_specs_keep_the_pool_bounded(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path / "gw") as (gateway, http):
        statuses: list[int] = []
        for think in range(1, 31):
            model = f"playbook?think_ms={think}"
            response = await http.post("/api/sessions", json={"model": model})
            statuses.append(response.status_code)
            if response.status_code == 503:
                body = response.json()
                assert body["code"] == "runtime_limit" and "--max-runtimes" in body["message"]
            assert gateway.hub.runtimes.live_count <= 8
        # The default runtime keeps its slot: client choices get the other seven.
        assert statuses.count(200) == 7 and statuses.count(503) == 23
        # Model names are per session, not per runtime: they never need a new one.
        for i in range(30):
            response = await http.post("/api/sessions", json={"model": f"playbook:m{i}"})
            assert response.status_code == 200
        assert gateway.hub.runtimes.live_count == 8


async def test_an_idle_runtime_is_evicted_to_make_room(tmp_path: Path) -> None:
    ceiling = SessionCeiling(max_runtimes=3)  # the default's slot and two more
    async with gateway_and_http(tmp_path / "gw", ceiling=ceiling) as (gateway, http):
        first = await create_session(http, model="playbook?think_ms=1")
        assert (await http.post("/api/sessions", json={"model": "playbook?think_ms=2"})
                ).status_code == 200
        assert (await http.post("/api/sessions", json={"model": "playbook?think_ms=3"})
                ).status_code == 503
        assert (await http.delete(f"/api/sessions/{first}")).status_code == 200
        assert (await http.post("/api/sessions", json={"model": "playbook?think_ms=3"})
                ).status_code == 200
        assert gateway.hub.runtimes.live_count == 2


def _forbidden(response: httpx.Response, ceiling: str) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "error" and body["code"] == "forbidden"
    assert body["ceiling"] == ceiling and "ceiling" in body["message"]
    return body


BEYOND = {
    "sandbox": {"filesystemSandbox": "danger-full-access"},
    "approval_policy": {"approvalPolicy": "on-request"},
    "network": {"networkAccess": "enabled"},
}


@pytest.mark.parametrize("ceiling", sorted(BEYOND))
async def test_beyond_the_default_ceiling_is_403_on_create_and_on_message(
    tmp_path: Path, ceiling: str
) -> None:
    async with gateway_and_http(tmp_path / "gw") as (_, http):
        body = _forbidden(await http.post("/api/sessions", json=BEYOND[ceiling]), ceiling)
        assert "teammesh serve --" in body["message"]
        assert (await http.get("/api/sessions")).json()["data"] == []
        session_id = await create_session(http)
        response = await http.post(
            f"/api/sessions/{session_id}/messages", json={"text": "hi", **BEYOND[ceiling]}
        )
        _forbidden(response, ceiling)
        detail = (await http.get(f"/api/sessions/{session_id}")).json()
        assert detail["thread"]["turns"] == []


async def test_within_the_ceiling_is_admitted_and_defaults_are_inside(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path / "gw") as (_, http):
        created = await http.post("/api/sessions", json={})
        assert created.status_code == 200
        controls = created.json()["session"]["sessionControls"]
        assert controls["filesystemSandbox"] == "read-only"
        assert controls["approvalPolicy"] == "never"
        assert controls["networkAccess"] == "restricted"
        session_id = await create_session(
            http, cwd=".", filesystemSandbox="workspace-write", approvalPolicy="never",
            networkAccess="restricted",
        )
        response = await http.post(
            f"/api/sessions/{session_id}/messages",
            json={"text": "hi", "filesystemSandbox": "read-only", "approvalPolicy": "never"},
        )
        assert response.status_code == 202, response.text


async def test_a_wider_ceiling_admits_what_it_names(tmp_path: Path) -> None:
    ceiling = SessionCeiling(max_sandbox="danger-full-access", allow_network=True,
                             cwd_roots=(str(tmp_path),))
    resolved = _real(tmp_path)
    async with gateway_and_http(tmp_path / "gw", ceiling=ceiling) as (_, http):
        session_id = await create_session(
            http, cwd=str(tmp_path), filesystemSandbox="danger-full-access",
            approvalPolicy="on-request", networkAccess="enabled",
        )
        detail = (await http.get(f"/api/sessions/{session_id}")).json()
        assert detail["session"]["cwd"] == resolved
    narrow = SessionCeiling(approval_policies=("untrusted",), cwd_roots=(str(tmp_path),))
    async with gateway_and_http(tmp_path / "gw2", ceiling=narrow) as (_, http):
        created = await http.post("/api/sessions", json={"cwd": str(tmp_path)})
        assert created.json()["session"]["approvalPolicy"] == "untrusted"
        _forbidden(await http.post("/api/sessions", json={"cwd": str(tmp_path),
                                                          "approvalPolicy": "never"}),
                   "approval_policy")


async def test_cwd_escapes_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "inside").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "link-out").symlink_to(tmp_path / "outside")
    (root / "link-in").symlink_to(root / "inside")
    ceiling = SessionCeiling(cwd_roots=(str(root),))
    inside = _real(root / "inside")
    async with gateway_and_http(tmp_path / "gw", ceiling=ceiling) as (_, http):
        for cwd in (str(root / ".." / "outside"), str(root / "link-out"), "/",
                    str(root) + "-sibling", "."):
            _forbidden(await http.post("/api/sessions", json={"cwd": cwd}), "cwd")
        for bad in (str(root / "nope"), str(root) + "/a\u0000b"):
            missing = await http.post("/api/sessions", json={"cwd": bad})
            assert missing.status_code == 400 and missing.json()["code"] == "invalid_request"
        created = await http.post("/api/sessions", json={"cwd": str(root / "link-in")})
        assert created.status_code == 200
        assert created.json()["session"]["cwd"] == inside
        assert (await http.get("/api/sessions")).json()["data"][0]["cwd"] == inside


async def test_a_session_persisted_under_a_wider_ceiling_is_refused_later(
    tmp_path: Path,
) -> None:
    wide = SessionCeiling(max_sandbox="danger-full-access")
    async with gateway_and_http(tmp_path / "gw", ceiling=wide) as (_, http):
        session_id = await create_session(http, filesystemSandbox="danger-full-access")
    async with gateway_and_http(tmp_path / "gw") as (_, http):
        response = await http.post(f"/api/sessions/{session_id}/messages", json={"text": "hi"})
        body = _forbidden(response, "sandbox")
        assert "the session has danger-full-access" in body["message"]


async def test_llm_model_names_cannot_switch_provider(tmp_path: Path) -> None:
    # With no model endpoint, llm's provider (and so its key variable) comes from the
    # operator's model: a client may pick another model of that provider only.
    settings = RuntimeSettings(data_dir=tmp_path / "gw", model="openai:gpt-4o")
    async with gateway_and_http(tmp_path / "gw", runtime="llm", settings=settings) as (_, http):
        body = _forbidden(await http.post("/api/sessions", json={"model": "anthropic:claude"}),
                          "model")
        assert "--allow-model" in body["message"]
        _forbidden(await http.post("/api/sessions", json={"model": "llm:groq:llama"}), "model")
    # An operator pattern admits what it names and nothing else.
    ceiling = SessionCeiling(allow_models=("llm:openai-responses:*",))
    async with start_gateway(data_dir=tmp_path / "gw2", ceiling=ceiling) as gateway:
        async with httpx.AsyncClient(base_url=gateway.base_url) as http:
            _forbidden(await http.post("/api/sessions", json={"model": "llm:openai:gpt-4o"}),
                       "model")
            allowed = await http.post("/api/sessions",
                                      json={"model": "llm:openai-responses:playbook"})
            assert allowed.status_code != 403, allowed.text
