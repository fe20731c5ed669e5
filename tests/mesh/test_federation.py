"""Federation (A4): members' sessions on different gateways, one board; tool calls routed
from each gateway's stream to the right member."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import TeamFileError, load_team

TEAM = '''
[[members]]
name = "developer"
[[members]]
name = "docs"
endpoint = "{docs_endpoint}"
[[members]]
name = "reviewer"
[[tasks]]
owner = "developer"
text = "Draft a plan, then hand off one docs task and one validation task."
'''


async def _titles(base_url: str) -> list[str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        listing = (await http.get("/api/sessions")).json()
    return sorted(s["title"] for s in listing["data"])


@pytest.mark.anyio
@pytest.mark.parametrize("use_polling", [True, False], ids=["stream+polling", "stream-only"])
async def test_a_member_on_another_gateway(tmp_path: Path, use_polling: bool) -> None:
    async with start_gateway(data_dir=tmp_path / "a") as main, \
            start_gateway(data_dir=tmp_path / "b") as other:
        path = tmp_path / "team.toml"
        path.write_text(TEAM.format(docs_endpoint=other.base_url), encoding="utf-8")
        team = load_team(path)
        board = create_board(run_id="fed", team=team.name, roster=team.roster,
                             path=tmp_path / "board.sqlite")
        printer = Printer(out=_Sink(), notes=_Sink())
        async with AsyncCodexManager(base_url=main.base_url) as cm:
            outcome = await TeamRunner(cm, team, board, RunOptions(
                turn_timeout=30, use_polling=use_polling), printer).run()
        assert outcome.complete, (outcome.missing, printer.lines)
        assert outcome.tool_calls == 13
        assert await _titles(main.base_url) == ["team-developer", "team-reviewer"]
        assert await _titles(other.base_url) == ["team-docs"]
        docs_calls = [line for line in printer.lines if line.startswith("[tool-call] docs:")]
        assert len(docs_calls) == 4
        board.close()


def test_endpoint_must_be_a_gateway_url(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(TEAM.format(docs_endpoint="ftp://elsewhere"), encoding="utf-8")
    with pytest.raises(TeamFileError, match=r"members\[1\]\.endpoint: must be an http"):
        load_team(path)


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass
