"""The sync twin exposes exactly the async client's surface: the same namespaces (upstream's
list), the same classes, the same methods with the same signatures, `typed` included; and
`cm.session(id)` reaches the new controls / settings / resume calls."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest

from teammesh.client import AsyncCodexManager, CodexManager, ServerError
from teammesh.client.api._base import DomainApi
from teammesh.client.typed import TypedApi
from teammesh.gateway.embedded import GatewayThread
from teammesh.gateway.upstream_routes import ROUTES

# upstream's namespaces (codex-manager-client.md §1.2 step 4), ours kept in that order
UPSTREAM_NAMESPACES = ["system", "models", "apps", "skills", "mcp", "account", "config",
                       "runtime", "feedback", "extensions", "orchestrator", "projects",
                       "sessions", "approvals", "tool_input", "tool_calls", "raw"]


def _domains(client: object) -> dict[str, DomainApi]:
    return {name: value for name, value in vars(client).items() if isinstance(value, DomainApi)}


def _methods(obj: object) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(getattr(obj, name))
        for name in dir(obj)
        if not name.startswith("_") and callable(getattr(obj, name))
    }


def test_both_clients_have_the_same_surface() -> None:
    async def build() -> AsyncCodexManager:
        return AsyncCodexManager(base_url="http://127.0.0.1:9")

    async_cm = asyncio.run(build())
    with CodexManager(base_url="http://127.0.0.1:9") as sync_cm:
        sync_domains, async_domains = _domains(sync_cm), _domains(async_cm)
        assert list(sync_domains) == list(async_domains) == UPSTREAM_NAMESPACES
        for name, sync_api in sync_domains.items():
            assert type(sync_api) is type(async_domains[name]), name
            assert _methods(sync_api) == _methods(async_domains[name]), name
        assert isinstance(sync_cm.typed, TypedApi) and isinstance(async_cm.typed, TypedApi)
        # every raw namespace but `raw` (any path, no model) has a typed twin on both clients
        typed_parts = [name for name in UPSTREAM_NAMESPACES if name != "raw"]
        assert dir(sync_cm.typed) == dir(async_cm.typed) == sorted(typed_parts)
        for part in typed_parts:
            sync_typed, async_typed = getattr(sync_cm.typed, part), getattr(async_cm.typed, part)
            assert dir(sync_typed) == dir(async_typed)
            assert {n: inspect.signature(getattr(sync_typed, n)) for n in dir(sync_typed)} == {
                n: inspect.signature(getattr(async_typed, n)) for n in dir(async_typed)}
            # ... covering every call of the raw namespace
            assert set(dir(sync_typed)) == set(_methods(getattr(sync_cm, part))), part


def test_sync_returns_values_async_returns_awaitables(tmp_path: Path) -> None:
    async def run(base_url: str) -> Any:
        async with AsyncCodexManager(base_url=base_url) as cm:
            pending = cm.models.list()
            assert inspect.isawaitable(pending)
            return await pending

    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        sync_body = cm.models.list()
        assert isinstance(sync_body, dict)
        assert asyncio.run(run(gateway.base_url))["code"] == sync_body["code"]


def test_session_scope_controls_settings_resume(tmp_path: Path) -> None:
    with (
        GatewayThread(data_dir=tmp_path / "gw") as gateway,
        CodexManager(base_url=gateway.base_url) as cm,
    ):
        sid = cm.sessions.create()["session"]["sessionId"]
        scope = cm.session(sid)
        assert scope.controls.get()["controls"]["approvalPolicy"] == "never"
        assert scope.settings.set(settings={"team": {"role": "lead"}})["settings"] == {
            "team": {"role": "lead"}}
        assert scope.settings.get(key="team")["value"] == {"role": "lead"}
        assert scope.settings.unset("team")["removed"] is True
        assert scope.settings.get()["settings"] == {}
        # resume's allow-list has no 501: where the runtime lacks thread/resume, it raises
        resume_row = next(r for r in ROUTES if r.operation == "sessions.resume")
        if resume_row.served_on("playbook"):
            assert isinstance(scope.resume(), dict)
        else:
            with pytest.raises(ServerError) as caught:
                scope.resume()
            assert caught.value.details.status_code == 501
