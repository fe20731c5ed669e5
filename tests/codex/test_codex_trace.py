"""`teammesh demo --runtime codex` exporting its trace over OTLP/HTTP to a receiver the test
starts: the runner's spans and the gateway's `turn codex` spans in one tree, codex's token
usage (`thread/tokenUsage/updated`) on each turn span, and the model server's `chat` spans
as traces of their own (codex does not pass trace context to its model provider)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tracing.otlp_receiver import OtlpReceiver
from tests.tracing.seed_run import SEED_CALLS
from tests.tracing.tree import build

pytestmark = [pytest.mark.codex]

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))


def test_codex_demo_trace(codex_bin: Path, codex_data_dir: Path) -> None:
    with OtlpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OTEL_", "CODEX_MANAGER_"))}
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = receiver.endpoint
        proc = subprocess.run([TEAMMESH, "demo", "--runtime", "codex", "--live", "off",
                               "--board", "memory"], cwd=codex_data_dir, env=env,
                              capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        nodes = list(receiver.nodes)
    roots = build(nodes)
    (run,) = [r for r in roots if r.name == "team_run default"]
    others = [r for r in roots if r is not run]
    assert others and {r.name for r in others} == {"chat playbook"}
    assert all(not r.children and r.trace_id != run.trace_id for r in others)
    assert [a.name for a in run.children] == [f"invoke_agent {m}" for m in SEED_CALLS]
    for agent, member in zip(run.children, SEED_CALLS, strict=True):
        turns = [c for c in agent.children if c.name == "turn codex"]
        assert len(turns) == 1, [c.name for c in agent.children]
        turn = turns[0]
        assert turn.attributes["teammesh.turn.status"] == "completed"
        assert turn.attributes["gen_ai.usage.input_tokens"] > 0
        assert turn.attributes["gen_ai.usage.output_tokens"] > 0
        # Each call under the turn that asked (its signal) or, answered by polling, under
        # the member's turn span: in order, once each.
        calls = sorted((n for n in agent.walk() if n.name.startswith("execute_tool")),
                       key=lambda n: n.start)
        assert [c.name for c in calls] == [f"execute_tool {t}" for t in SEED_CALLS[member]]
        assert all(c.parent_id in (turn.span_id, agent.span_id) for c in calls)
