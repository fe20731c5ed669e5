"""The web board's cost to the run: the six-member team's makespan with and without
`--web`, interleaved A/B in one run (same gateway, same think time), with one page open on
the board's SSE stream the whole time (what a user watching costs, not just the server).

With the board on, the runner's printer tells the page of each call, every board change
nudges the feed, and the feed re-reads the board at most every 0.25 s in the runner's own
event loop: that read is the cost this measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import TextIO, cast

import httpx

from bench.concurrency import SIX
from bench.processes import GatewayProcess
from bench.report import Config, Section
from bench.stats import median, ratio
from bench.team_runs import _Discard
from teammesh.client import AsyncCodexManager
from teammesh.mesh.board import create_board, new_run_id
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.team import Team
from teammesh.mesh.teamfile import load_team
from teammesh.web.feed import Feed
from teammesh.web.server import serve_board
from teammesh.web.snapshot import Source
from teammesh.web.watch import Watch, WatchingPrinter


async def _watch_page(url: str, base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=None) as page:
        await page.get(url)
        async with page.stream("GET", "/api/events") as events:
            async for _ in events.aiter_lines():
                pass


async def _one(base_url: str, team: Team, *, web: bool) -> tuple[float, int]:
    """The run's wall time, and how many snapshots the feed built (0 without the page)."""
    with tempfile.TemporaryDirectory(prefix="teammesh-bench-web-") as tmp:
        board = create_board(run_id=new_run_id(), team=team.name, roster=team.roster,
                             path=Path(tmp) / "board.sqlite", team_text=team.text)
        quiet = cast(TextIO, _Discard())
        options = RunOptions(turn_timeout=60)
        try:
            async with AsyncCodexManager(base_url=base_url) as cm, \
                    contextlib.AsyncExitStack() as stack:
                printer = Printer(out=quiet, notes=quiet)
                feed = None
                if web:
                    watch = Watch()
                    feed = Feed(Source(board=board, team=team, watch=watch))
                    watching = WatchingPrinter(watch, out=quiet, notes=quiet)
                    watching.on_event = feed.nudge
                    printer = watching
                    options.on_change = feed.nudge
                    options.on_state = lambda state: setattr(feed.source, "live", state)
                    served = await stack.enter_async_context(serve_board(feed))
                    viewer = asyncio.create_task(_watch_page(served.url, served.base_url))
                    stack.callback(viewer.cancel)
                runner = TeamRunner(cm, team, board, options, printer)
                started = time.perf_counter()
                outcome = await runner.run()
                wall = time.perf_counter() - started
        finally:
            board.close()
    if not outcome.complete:
        raise RuntimeError(f"team {team.name} did not complete: {outcome.reason}")
    return wall, feed.rebuilds if feed is not None else 0


async def run(cfg: Config) -> Section:
    think_ms = cfg.pick(200, 20)
    repeats = cfg.pick(5, 1)
    team = load_team(SIX)
    section = Section("web", f"web board: six-member makespan, think {think_ms} ms,"
                             " with and without --web (A/B interleaved)")
    walls: dict[bool, list[float]] = {False: [], True: []}
    rebuilds: list[float] = []
    with GatewayProcess(runtime=f"playbook?think_ms={think_ms}") as gateway:
        await _one(gateway.base_url, team, web=False)  # warm-up (sessions, imports)
        for _ in range(repeats):
            for web in (False, True):
                wall, built = await _one(gateway.base_url, team, web=web)
                walls[web].append(wall)
                if web:
                    rebuilds.append(built)
    section.add("makespan without --web", median(walls[False]) * 1e3, "ms",
                runs=len(walls[False]))
    section.add("makespan with --web (one page open)", median(walls[True]) * 1e3, "ms",
                runs=len(walls[True]))
    section.add("with / without", ratio(median(walls[True]), median(walls[False])), "×",
                runs=repeats)
    section.add("page snapshots built per run", median(rebuilds), "", runs=len(rebuilds))
    section.notes.append("A/B interleaved on one gateway; a shared machine makes the ratio"
                         " noisy (a few % either way is noise).")
    return section
