"""Configured the standard way: which OTEL_* settings turn tracing on, the warning when the
SDK is missing, and a real `teammesh demo` process exporting its whole trace over OTLP/HTTP
(flushed as it exits)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from teammesh.tracing.setup import wanted_exporters
from tests.tracing.otlp_receiver import OtlpReceiver
from tests.tracing.seed_run import expected_tree
from tests.tracing.tree import build

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))


@pytest.mark.parametrize(("env", "expected"), [
    ({}, []),
    ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
    ({"OTEL_TRACES_EXPORTER": "otlp,console"}, ["otlp", "console"]),
    ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, []),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ["otlp"]),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, ["otlp"]),
    ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, []),
])
def test_which_settings_turn_tracing_on(env: dict[str, str], expected: list[str]) -> None:
    assert wanted_exporters(env) == expected


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "CODEX_MANAGER_"))}
    env.update(extra)
    return env


_WITHOUT_SDK = """
import sys
sys.modules["opentelemetry.sdk"] = None  # as if the `otel` extra were not installed
from teammesh import tracing
print(tracing.configure("probe"), tracing.active())
"""


def test_missing_sdk_is_one_clear_warning() -> None:
    done = subprocess.run([sys.executable, "-c", _WITHOUT_SDK], capture_output=True,
                          text=True, timeout=60, check=True,
                          env=_clean_env(OTEL_TRACES_EXPORTER="otlp"))
    assert done.stdout.split() == ["False", "False"]
    warnings = [line for line in done.stderr.splitlines() if "teammesh[otel]" in line]
    assert len(warnings) == 1, done.stderr


_NOTHING_SET = """
from teammesh import tracing
print(tracing.configure("probe"), tracing.active())
import sys
print("opentelemetry.sdk" in sys.modules)
"""


def test_nothing_set_means_no_provider_and_no_sdk() -> None:
    done = subprocess.run([sys.executable, "-c", _NOTHING_SET], capture_output=True,
                          text=True, timeout=60, check=True, env=_clean_env())
    assert done.stdout.split() == ["False", "False", "False"]


def test_demo_process_exports_its_whole_trace(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        proc = subprocess.run([TEAMMESH, "demo", "--board", "memory"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=90,
                              env=_clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint
                                             .removesuffix("/v1/traces")))
        assert proc.returncode == 0, proc.stderr
        nodes = list(receiver.nodes)
    roots = build(nodes)
    assert len(roots) == 1, [r.name for r in roots]
    assert roots[0].shape()[0] == "team_run default"
    # One process (the embedded gateway): runner and gateway spans in one tree. With both
    # answering paths on, a call may come by polling (under the member turn) or by its
    # signal (under the gateway turn); the set of spans is the same either way.
    got = sorted(n.name for n in roots[0].walk())
    want: list[str] = []

    def flatten(shape: tuple[object, ...]) -> None:
        name, children = shape
        want.append(str(name))
        for child in children:  # type: ignore[attr-defined]
            flatten(child)

    flatten(expected_tree())
    assert got == sorted(want)
    assert set(receiver.services.values()) == {"teammesh-runner"}
