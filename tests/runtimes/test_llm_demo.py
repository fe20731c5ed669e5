"""`teammesh demo --runtime llm` as a user runs it: the command starts the playbook model
server and an embedded gateway on the llm runtime (pydantic-ai) itself, runs the seed's team
with no network, prints the seed's lines and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.mesh.test_demo import check_seed_output

from teammesh.mesh.embedded_runtime import ModelChoice, needs_model_server

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))
REPLIES = {
    "developer": "published implementation, queued docs and reviewer handoffs, marked done.",
    "docs": "published documentation, queued reviewer handoff, marked done.",
    "reviewer": "published review, read the board, marked done.",
}


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}


def test_teammesh_demo_on_the_llm_runtime(tmp_path: Path) -> None:
    proc = subprocess.run([TEAMMESH, "demo", "--runtime", "llm", "--live", "off"],
                          cwd=tmp_path, env=_environment(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    lines = proc.stdout.splitlines()
    check_seed_output(lines)
    # The replies are the playbook brain's, as pydantic-ai relayed them.
    replies = {line.split(": ", 1)[0][len("[round 1] "):]: line.split(": ", 1)[1]
               for line in lines if line.startswith("[round 1] ")}
    assert replies == REPLIES
    assert "complete after 1 round(s), 3 turn(s), 13 tool call(s), makespan " in proc.stderr


def test_teammesh_run_on_the_llm_runtime_with_a_team_file(tmp_path: Path) -> None:
    team = tmp_path / "pair.toml"
    team.write_text('[team]\nname = "pair"\n\n[[members]]\nname = "developer"\n'
                    'handoffs = ["reviewer"]\n\n[[members]]\nname = "reviewer"\n\n'
                    '[[tasks]]\nowner = "developer"\ntext = "Plan a small change."\n')
    proc = subprocess.run([TEAMMESH, "run", str(team), "--runtime", "llm", "--live", "off",
                           "--board", "memory"],
                          cwd=tmp_path, env=_environment(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "[tool-call] developer: team_pull_work" in proc.stdout
    assert "[tool-call] reviewer: team_mark_done" in proc.stdout
    assert ": complete after " in proc.stderr


def test_which_runs_get_a_model_server() -> None:
    none = ModelChoice()
    assert needs_model_server("codex", none)
    assert needs_model_server("llm", none)
    assert needs_model_server("codex?tool_call_deadline_s=60", none)
    assert not needs_model_server("playbook", none)
    assert not needs_model_server("playbook?think_ms=200", none)
    # A named endpoint is used as given.
    assert not needs_model_server("codex", ModelChoice(base_url="http://127.0.0.1:8081/v1"))
    assert not needs_model_server("codex?model_base_url=http://127.0.0.1:8081/v1", none)
    assert not needs_model_server("codex", ModelChoice(api_key_env="OPENAI_API_KEY"))
    # llm with a model and no endpoint: a hosted provider's model.
    assert not needs_model_server("llm?model=openai:gpt-4o", none)
    assert not needs_model_server("llm", ModelChoice(model="anthropic:claude-sonnet-4-0"))
    # codex with only a model still needs somewhere to send it.
    assert needs_model_server("codex", ModelChoice(model="playbook"))
