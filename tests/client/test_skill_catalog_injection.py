"""End to end with catalog injection on (codex-manager's default `inject_skills=True`): the
real gateway, the playbook runtime, our client's `create_session` + `send_and_handle`. The
catalog the client prepends is background for the brain, so a handler runs exactly as often
as the request asks — extra calls would be extra side effects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from teammesh.client import AsyncCodexManager, AsyncRemoteSkillSession
from teammesh.gateway.embedded import start_gateway

pytestmark = pytest.mark.anyio

CATALOG_HEADER = "Session remote skill catalog (Python-managed):"


def _arithmetic(runs: list[tuple[str, dict[str, int]]]) -> Any:
    def register(skills: AsyncRemoteSkillSession) -> None:
        @skills.skill(description="Add two integers.")
        def add(a: int, b: int) -> int:
            runs.append(("add", {"a": a, "b": b}))
            return a + b

        @skills.skill(description="Multiply two integers.")
        def mul(a: int, b: int) -> int:
            runs.append(("mul", {"a": a, "b": b}))
            return a * b

        @skills.skill(description="Negate an integer.")
        def neg(a: int) -> int:
            runs.append(("neg", {"a": a}))
            return -a

    return register


async def _send_with_default_injection(
    tmp_path: Path, request: str
) -> tuple[Any, list[tuple[str, dict[str, int]]], list[str]]:
    runs: list[tuple[str, dict[str, int]]] = []
    sent: list[str] = []
    async with start_gateway(data_dir=tmp_path / "gw", runtime="playbook", port=0) as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        cm.before("sessions.send_message")(lambda call: sent.append(call.json_body["text"]))
        _, skills = await cm.remote_skills.create_session(register=_arithmetic(runs))
        # No inject_skills argument: the default, as codex-manager's client has it.
        result = await skills.send_and_handle(request, timeout_seconds=20, interval_seconds=0.02)
    return result, runs, sent


async def test_call_add_with_the_default_catalog_injection_runs_the_handler_once(
    tmp_path: Path,
) -> None:
    request = 'Call add with {"a": 2, "b": 3}.'
    result, runs, sent = await _send_with_default_injection(tmp_path, request)
    # The catalog really went out with the request, listing every skill.
    assert len(sent) == 1 and sent[0].startswith(CATALOG_HEADER)
    assert "- add: Add two integers." in sent[0] and sent[0].endswith("User request:\n" + request)
    assert result.status == "completed"
    assert runs == [("add", {"a": 2, "b": 3})]
    assert [(d.tool, d.handled, d.result) for d in result.dispatches] == [("add", True, 5)]


async def test_a_request_naming_one_of_three_skills_calls_only_that_one(tmp_path: Path) -> None:
    result, runs, sent = await _send_with_default_injection(
        tmp_path, 'Call mul with {"a": 4, "b": 5}.'
    )
    assert all(f"- {name}: " in sent[0] for name in ("add", "mul", "neg"))
    assert result.status == "completed"
    assert runs == [("mul", {"a": 4, "b": 5})]
    assert [(d.tool, d.result) for d in result.dispatches] == [("mul", 20)]
