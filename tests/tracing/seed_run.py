"""The seed team (`teammesh demo`'s) run in this process against a real gateway, for the
tracing tests: the gateway embedded (one process) or given by URL (another process)."""

from __future__ import annotations

from pathlib import Path

from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, RunOutcome, TeamRunner
from teammesh.mesh.teamfile import builtin_team

# What each member's turn calls, in order (the seed's happy path; tests/mesh/test_demo.py).
SEED_CALLS = {
    "developer": ["team_pull_work", "team_publish_artifact", "team_queue_work",
                  "team_queue_work", "team_mark_done"],
    "docs": ["team_pull_work", "team_publish_artifact", "team_queue_work", "team_mark_done"],
    "reviewer": ["team_pull_work", "team_publish_artifact", "team_read_board",
                 "team_mark_done"],
}
HANDOFFS = {"developer": ["docs", "reviewer"], "docs": ["reviewer"], "reviewer": []}


class QuietSink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


async def run_seed(tmp_path: Path, *, base_url: str | None = None, use_stream: bool = True,
                   use_polling: bool = False) -> RunOutcome:
    """One run of the seed team; stream-only by default, so every call is answered from its
    signal (the polling fallback racing it would make the parent of a call vary)."""
    team = builtin_team()
    board = create_board(run_id="traced", team=team.name, roster=team.roster,
                         path=tmp_path / "board.sqlite")
    printer = Printer(out=QuietSink(), notes=QuietSink())
    options = RunOptions(turn_timeout=30, use_stream=use_stream, use_polling=use_polling)
    try:
        if base_url is not None:
            async with AsyncCodexManager(base_url=base_url) as cm:
                return await TeamRunner(cm, team, board, options, printer).run()
        async with start_gateway(data_dir=tmp_path / "gw") as gateway, \
                AsyncCodexManager(base_url=gateway.base_url) as cm:
            return await TeamRunner(cm, team, board, options, printer).run()
    finally:
        board.close()


def expected_tree(*, calls_under_gateway_turn: bool = True) -> tuple[object, ...]:
    """The seed run's span tree as (name, children) tuples."""

    def calls(member: str) -> tuple[object, ...]:
        targets = iter(HANDOFFS[member])
        out: list[object] = []
        for tool in SEED_CALLS[member]:
            children = ((f"handoff {member} -> {next(targets)}", ()),) \
                if tool == "team_queue_work" else ()
            out.append((f"execute_tool {tool}", children))
        return tuple(out)

    members: list[object] = []
    for member in SEED_CALLS:
        if calls_under_gateway_turn:
            members.append((f"invoke_agent {member}", (("turn playbook", calls(member)),)))
        else:
            members.append((f"invoke_agent {member}", (("turn playbook", ()), *calls(member))))
    return ("team_run default", tuple(members))
