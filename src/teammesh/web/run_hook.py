"""`teammesh run … --web` / `teammesh demo --web`: the board page served by the runner.

In the runner's process the page gets more than the board: the runner hands over its live
state (`RunOptions.on_state`: each member's active turn, the run's counts), its printer
tells of every tool call as it starts and ends (`WatchingPrinter`), and every board change
nudges the feed. The page is served in the runner's own event loop, so reading the board for
it never races the runner from another thread. Approvals: unless read-only, the gate also
waits for an answer on the board (`RunOptions.board_answers`), which the page writes.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from teammesh.mesh.board import MEMORY_BOARD, TeamBoard, is_dsn
from teammesh.mesh.board.dsn_redact import redact_dsn
from teammesh.mesh.output import Printer
from teammesh.mesh.run_options import RunOptions
from teammesh.mesh.team import Team
from teammesh.web.feed import Feed
from teammesh.web.server import serve_board
from teammesh.web.snapshot import Source
from teammesh.web.watch import Watch, WatchingPrinter

T = TypeVar("T")
# After the run: long enough for an open page to receive the final state.
LINGER_S = 0.5


class WebRun:
    def __init__(self, board: TeamBoard, team: Team, args: argparse.Namespace) -> None:
        self.watch = Watch()
        self.source = Source(board=board, team=team, watch=self.watch,
                             read_only=bool(args.web_read_only))
        self.feed = Feed(self.source)
        self.printer = WatchingPrinter(self.watch)
        self.printer.on_event = self.feed.nudge
        self.host: str = args.web_host
        self.port: int = args.web_port
        self.read_only = bool(args.web_read_only)
        self.board_arg: str | None = args.board

    def hook(self, options: RunOptions) -> None:
        """Wire the run's options to the page (keeping a live terminal view's redraws)."""
        before = options.on_change

        def changed() -> None:
            self.feed.nudge()
            if before is not None:
                before()

        options.on_change = changed
        told = options.on_state

        def attach(state: Any) -> None:
            self.attach(state)
            if told is not None:
                told(state)

        options.on_state = attach
        options.board_answers = options.board_answers or not self.read_only

    def attach(self, state: Any) -> None:
        self.source.live = state

    def closing_note(self) -> str:
        """The page closes with the run (a demo's within a second of printing its URL): say
        how to see it again, from its board."""
        if self.board_arg == MEMORY_BOARD:
            return "web board closed with the run (its board was in memory: nothing to serve)"
        where = ""
        if self.board_arg is not None:
            shown = redact_dsn(self.board_arg) if is_dsn(self.board_arg) else self.board_arg
            where = f" --board {shown}"
        return (f"web board closed with the run; to see it again: teammesh board serve"
                f" {self.source.board.run_id}{where}")

    async def around(self, run: Coroutine[Any, Any, T], printer: Printer) -> T:
        try:
            async with serve_board(self.feed, host=self.host, port=self.port,
                                   read_only=self.read_only) as served:
                printer.note(f"web board: {served.url}")
                try:
                    return await run
                finally:
                    await self.feed.decided()
                    await asyncio.sleep(LINGER_S)
                    printer.note(self.closing_note())
        finally:
            run.close()  # never started (the port was busy): no "never awaited" warning
