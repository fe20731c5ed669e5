"""Client tests run against the real gateway on a free loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from teammesh.gateway.embedded import GatewayThread

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayThread]:
    with GatewayThread(data_dir=tmp_path / "gateway") as running:
        yield running


def steps_prompt(calls: list[tuple[str, dict[str, Any]]], *, member: str = "tester") -> str:
    """A prompt the playbook brain follows exactly: one explicit call per step, then a reply."""
    lines = [f"You are the {member}.", "Role: exercise the client.", "", "Process for this turn:"]
    for number, (tool, arguments) in enumerate(calls, start=1):
        lines.append(f"{number}. Call `{tool}` with {json.dumps(arguments)}.")
    lines.append(f"{len(calls) + 1}. Reply with done.")
    return "\n".join(lines)
