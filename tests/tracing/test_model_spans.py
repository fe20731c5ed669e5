"""The model server's span per call: `chat <model>` with its usage, a child of the caller's
`traceparent` when one is sent (codex sends none: then the span starts its own trace)."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from teammesh.brain.server import ModelServerThread

PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
BODY = {"model": "playbook",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hello"}]}]}


def test_model_call_span_under_the_callers_traceparent(spans: InMemorySpanExporter) -> None:
    with ModelServerThread() as server, httpx.Client(timeout=10) as http:
        linked = http.post(f"{server.base_url}/v1/responses", json=BODY,
                           headers={"traceparent": f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"})
        alone = http.post(f"{server.base_url}/v1/responses", json=BODY,
                          headers={"traceparent": "not-a-traceparent"})
        bad = http.post(f"{server.base_url}/v1/responses", content=b"{nope",
                        headers={"content-type": "application/json"})
    assert linked.status_code == alone.status_code == 200 and bad.status_code == 400
    first, second, third = spans.get_finished_spans()
    assert first.name == second.name == "chat playbook"
    assert first.context.trace_id == int(PARENT_TRACE, 16)
    assert first.parent is not None and first.parent.span_id == int(PARENT_SPAN, 16)
    assert first.attributes is not None
    assert first.attributes["gen_ai.operation.name"] == "chat"
    assert first.attributes["gen_ai.request.model"] == "playbook"
    assert int(str(first.attributes["gen_ai.usage.input_tokens"])) >= 1
    assert int(str(first.attributes["gen_ai.usage.output_tokens"])) >= 1
    # A malformed traceparent starts a new trace; it is never an error.
    assert second.parent is None and second.context.trace_id != int(PARENT_TRACE, 16)
    assert third.name == "chat" and third.status.status_code.name == "ERROR"
