"""A hostile `traceparent` (huge, malformed, repeated) from any local process is ignored
quietly: the call is served, its span starts a trace of its own, and nothing is logged
(before: the propagator logged a warning for every over-long header, a log line per request
for whoever sends them; the model server takes calls without a token)."""

from __future__ import annotations

import logging

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from teammesh.brain.server import ModelServerThread

BODY = {"model": "playbook",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hello"}]}]}
VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
HOSTILE = [VALID + "-" + "x" * 8000, "0" * 600 + VALID, VALID + "-" + "\t" * 600 + "x",
           "ff-" + "0" * 32 + "-" + "0" * 16 + "-00", "\u00e9" * 300, VALID[:-1]]


def test_hostile_traceparents_are_served_unlinked_and_unlogged(
        spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with ModelServerThread() as server, httpx.Client(timeout=10) as http:
        for _ in range(5):
            for value in HOSTILE:
                answer = http.post(f"{server.base_url}/v1/responses", json=BODY,
                                   headers=[(b"traceparent", value.encode("utf-8"))])
                assert answer.status_code == 200
        repeated = http.post(f"{server.base_url}/v1/responses", json=BODY,
                             headers=[("traceparent", "garbage")] * 50)
        assert repeated.status_code == 200
    finished = spans.get_finished_spans()
    assert len(finished) == 5 * len(HOSTILE) + 1
    assert all(span.parent is None for span in finished)
    noisy = [r.getMessage() for r in caplog.records
             if r.name.startswith("opentelemetry") and r.levelno >= logging.WARNING]
    assert noisy == []
