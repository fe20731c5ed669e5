"""No credentials on spans: a session's `model` and a runtime's key may be `<runtime>?k=v`
with a URL in the settings, and a URL may hold a password; spans keep only the name before
`?`. Free-text reasons are one bounded line."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from teammesh.mesh.team import Member
from teammesh.tracing.gateway_spans import traced_send
from teammesh.tracing.run_spans import traced_turn, turn_settled
from teammesh.tracing.spans import REASON_CHARS

pytestmark = pytest.mark.anyio
SECRET_MODEL = "llm?model=openai-responses:x&model_base_url=http://user:hunter2@127.0.0.1:9/v1"


@dataclass
class _Outcome:
    status: int
    body: Any


async def test_settings_and_urls_stay_off_the_spans(spans: InMemorySpanExporter) -> None:
    member = SimpleNamespace(spec=Member(name="dev", role="r", model=SECRET_MODEL),
                             session=SimpleNamespace(session_id="s-1"))

    async def turn() -> bool:
        await traced_send({}, "s-1", SECRET_MODEL, SECRET_MODEL,
                          _send(_Outcome(400, {"message": "x" * 5000})))
        turn_settled(ok=False, lost=False, reason="why " * 1000)
        return False

    assert await traced_turn(member, 1, turn()) is False
    gateway, runner = spans.get_finished_spans()
    for span in (gateway, runner):
        assert span.attributes is not None
        assert not any("hunter2" in str(v) for v in span.attributes.values()), span.name
        assert span.attributes["gen_ai.request.model"] == "llm"
        assert all(len(str(v)) <= REASON_CHARS for v in span.attributes.values())
    assert gateway.name == "turn llm"
    assert runner.attributes is not None and runner.attributes["teammesh.turn.status"] == "failed"


async def _send(outcome: _Outcome) -> _Outcome:
    return outcome
