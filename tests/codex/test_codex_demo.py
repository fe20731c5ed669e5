"""`teammesh demo --runtime codex` as a user runs it: the command starts the playbook model
server and an embedded gateway on the real `codex app-server` itself, runs the seed's team
with no network, prints the seed's lines and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mesh.test_demo import check_seed_output

pytestmark = [pytest.mark.codex]

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))


def test_teammesh_demo_on_the_codex_runtime(codex_bin: Path, codex_data_dir: Path) -> None:
    # codex_bin: the binary must be there (the test fails under CI=true when it is not);
    # the command finds it in .cache/codex itself. The working directory is outside /tmp,
    # since the codex gateway's data dir goes under its .teammesh/.
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    proc = subprocess.run([TEAMMESH, "demo", "--runtime", "codex", "--live", "off"],
                          cwd=codex_data_dir, env=env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    check_seed_output(proc.stdout.splitlines())
    assert "complete after 1 round(s), 3 turn(s), 13 tool call(s), makespan " in proc.stderr
    # The throwaway gateway dir (CODEX_HOME included) is gone; the run's board stays.
    assert sorted(p.name for p in (codex_data_dir / ".teammesh").iterdir()) == ["runs"]
    assert len(list((codex_data_dir / ".teammesh" / "runs").glob("*.sqlite"))) == 1


def test_teammesh_demo_on_codex_with_a_named_model_endpoint(
    codex_bin: Path, codex_data_dir: Path
) -> None:
    """`--model-base-url` names the endpoint: no model server is started for the run, so an
    endpoint that answers nothing leaves every turn failed and the run incomplete."""
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    workdir = codex_data_dir / "named"
    workdir.mkdir()
    proc = subprocess.run([TEAMMESH, "demo", "--runtime", "codex", "--live", "off",
                           "--board", "memory", "--rounds", "1", "--turn-timeout", "3",
                           "--model-base-url", "http://127.0.0.1:9/v1"],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "[tool-call]" not in proc.stdout
    assert "missing: " in proc.stderr
