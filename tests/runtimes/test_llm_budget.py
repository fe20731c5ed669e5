"""Token budgets stop real-model runs: the seed team through the real gateway's llm runtime
against the real playbook model server (which reports usage). A `[policies]` budget of the
run or of each member, or a `budget` in `[completion]`, reached by a turn's usage means no
turn starts after it: the run ends incomplete, its reason naming the limit, having gone over
by at most one turn (one member at a time here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from teammesh.brain.server import start_model_server
from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import TeamBoard, create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, RunOutcome, TeamRunner
from teammesh.mesh.teamfile import load_team

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))
SEED = '''
[[members]]
name = "developer"
[[members]]
name = "docs"
[[members]]
name = "reviewer"
[[tasks]]
owner = "developer"
text = "Draft a plan, then hand off one docs task and one validation task."
'''


class _Quiet:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


async def _run(tmp_path: Path, extra: str, name: str = "a"
               ) -> tuple[RunOutcome, TeamBoard]:
    path = tmp_path / f"team-{name}.toml"
    path.write_text(SEED + extra, encoding="utf-8")
    team = load_team(path)
    board = create_board(run_id="budget", team=team.name, roster=team.roster,
                         path=tmp_path / f"board-{name}.sqlite")
    async with start_model_server() as model:
        spec = f"llm?model=openai-responses:playbook&model_base_url={model.base_url}/v1"
        async with start_gateway(data_dir=tmp_path / f"gw-{name}", runtime=spec) as gateway, \
                AsyncCodexManager(base_url=gateway.base_url) as cm:
            outcome = await TeamRunner(cm, team, board, RunOptions(turn_timeout=60),
                                       Printer(out=_Quiet(), notes=_Quiet())).run()
    return outcome, board


@pytest.mark.anyio
async def test_a_run_token_budget_stops_the_run(tmp_path: Path) -> None:
    outcome, board = await _run(tmp_path, "[policies.budget]\ntokens = 1000\n")
    record = board.run_record()
    # The developer's turn used more than the whole budget; no turn started after it.
    assert [t.member for t in record.turns] == ["developer"]
    assert not outcome.complete and outcome.status == "incomplete"
    assert outcome.reason.startswith("limit reached before round 2: policies.budget.tokens"
                                     " reached: used ")
    assert outcome.reason.endswith("tokens (budget 1,000)")
    used = record.usage_total().total
    assert used >= 1000 and f"used {used:,} tokens" in outcome.reason
    assert outcome.usage is not None and outcome.usage.total == used
    assert board.info().status == "incomplete" and board.info().reason == outcome.reason
    board.close()


@pytest.mark.anyio
async def test_a_member_budget_names_the_member(tmp_path: Path) -> None:
    outcome, board = await _run(tmp_path, "[policies.member_budget]\ntokens = 100\n")
    assert [t.member for t in board.run_record().turns] == ["developer"]
    assert not outcome.complete
    assert "developer: policies.member_budget.tokens reached" in outcome.reason
    board.close()


@pytest.mark.anyio
async def test_a_completion_budget_of_tokens(tmp_path: Path) -> None:
    generous, board = await _run(
        tmp_path, '[completion]\nall_of = [{ member_done = "reviewer" },'
                  " { budget = { tokens = 1000000 } }]\n")
    assert generous.complete, generous.reason  # well within: it completes
    whole = board.run_record().usage_total().total
    board.close()
    # Room for two of the three turns (each uses ~1/3 of the whole run's tokens).
    limit = whole * 2 // 3
    tight, board = await _run(
        tmp_path, '[completion]\nall_of = [{ member_done = "reviewer" },'
                            f" {{ budget = {{ tokens = {limit} }} }}]\n", "tight")
    assert not tight.complete
    assert "(token budget" in tight.reason and tight.reason.startswith("limit reached")
    used = board.run_record().usage_total().total
    turns = board.run_record().turns
    # Over by at most the last turn that started before the limit was reached.
    assert used - (turns[-1].usage.total if turns[-1].usage else 0) < limit
    assert any("(token budget" in m for m in tight.missing)
    board.close()


def test_the_command_says_which_budget_stopped_it(tmp_path: Path) -> None:
    team = tmp_path / "team.toml"
    team.write_text(SEED + "[policies.budget]\ntokens = 1000\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    proc = subprocess.run([TEAMMESH, "run", str(team), "--runtime", "llm", "--live", "off"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert ": incomplete after 1 round(s), 1 turn(s)," in proc.stderr
    assert "(limit reached before round 2: policies.budget.tokens reached: used " in (
        proc.stderr)
    assert "tokens (budget 1,000))" in proc.stderr
    assert ": tokens " in proc.stderr and ", cost —" in proc.stderr
