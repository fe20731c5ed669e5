"""One trace across two processes: the runner here (in-memory exporter) and a `teammesh
serve` subprocess exporting over OTLP/HTTP to a receiver this test starts. The gateway's
turn spans are children of the runner's `invoke_agent` spans (the request's traceparent) and
the runner's `execute_tool` spans children of the gateway's turn spans (the signal's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.reliability.procs import GatewayProcess
from tests.tracing.otlp_receiver import OtlpReceiver
from tests.tracing.seed_run import expected_tree, run_seed
from tests.tracing.tree import build, node_of

pytestmark = pytest.mark.anyio


async def test_one_trace_across_runner_and_serve(tmp_path: Path,
                                                 spans: InMemorySpanExporter) -> None:
    with OtlpReceiver() as receiver:
        env = {"OTEL_TRACES_EXPORTER": "otlp",
               "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.endpoint,
               "OTEL_SERVICE_NAME": "gateway-under-test"}
        with GatewayProcess(tmp_path / "gw", env=env) as gateway:
            outcome = await run_seed(tmp_path, base_url=gateway.base_url)
        # Stopped (SIGTERM): the gateway flushed its batch on the way out.
        assert outcome.complete, outcome.reason
        remote = list(receiver.nodes)
    assert remote, "the gateway exported nothing"
    assert {n.name for n in remote} == {"turn playbook"}
    assert set(receiver.services.values()) == {"gateway-under-test"}
    local = [node_of(s) for s in spans.get_finished_spans()]
    roots = build([*local, *remote])
    assert len(roots) == 1, [r.name for r in roots]
    (root,) = roots
    assert root.shape() == expected_tree()
    assert {n.trace_id for n in root.walk()} == {root.trace_id}
    remote_ids = {n.span_id for n in remote}
    for agent in root.children:
        (turn,) = agent.children
        assert turn.span_id in remote_ids  # the gateway's span, under the runner's
        assert turn.attributes["gen_ai.conversation.id"] == \
            agent.attributes["gen_ai.conversation.id"]
        assert turn.attributes["teammesh.turn.status"] == "completed"
        assert all(call.span_id not in remote_ids for call in turn.children)
