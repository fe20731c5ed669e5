"""A real web board server on a free loopback port over a real SQLite board file."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from teammesh.mesh.board import TeamBoard, create_board
from teammesh.mesh.teamfile import builtin_team
from teammesh.web.feed import Feed
from teammesh.web.server import RunningBoard, serve_board
from teammesh.web.snapshot import Source
from teammesh.web.watch import Watch


@dataclass
class Served:
    board: TeamBoard
    running: RunningBoard
    feed: Feed

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.running.base_url, follow_redirects=False,
                                 timeout=10)

    async def sign_in(self, client: httpx.AsyncClient) -> None:
        answer = await client.get(self.running.url)
        assert answer.status_code == 303, answer.text


@contextlib.asynccontextmanager
async def served_board(tmp_path: Path, *, read_only: bool = False) -> AsyncIterator[Served]:
    team = builtin_team()
    board = create_board(run_id="run-20260101-000000-abcdef", team=team.name,
                         roster=team.roster, path=tmp_path / "board.sqlite",
                         team_text=team.text)
    try:
        feed = Feed(Source(board=board, team=team, watch=Watch(), read_only=read_only))
        async with serve_board(feed, read_only=read_only) as running:
            yield Served(board, running, feed)
    finally:
        board.close()
