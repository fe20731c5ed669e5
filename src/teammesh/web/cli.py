"""`teammesh board serve [RUN_ID] [--board PATH|DSN]`: the web board of a run read from its
board only, in a process of its own (the runner may be elsewhere, on another machine against
the same PostgreSQL, or finished long ago).

Nothing but board rows: the feed polls the board once a second and pushes what changed. A
decision made here is a board write the runner (which polls the pending row) picks up. A
DSN's password is never printed: messages name the board with `redact_dsn`.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys

from teammesh.mesh.board import (
    BadRunId,
    NotABoard,
    TeamBoard,
    UnknownRun,
    board_location,
    check_run_id,
    is_dsn,
    open_board,
    runs_on,
)
from teammesh.mesh.board.dsn_redact import redact_dsn
from teammesh.mesh.team import Team
from teammesh.mesh.teamfile import TeamFileError, builtin_team, team_from_text
from teammesh.web.feed import POLL_INTERVAL_S, Feed
from teammesh.web.server import serve_board
from teammesh.web.snapshot import Source
from teammesh.web.watch import Watch

EXIT_USAGE = 2


def _shown(location: object) -> str:
    text = str(location)
    return redact_dsn(text) if is_dsn(text) else text


def _pick_run(args: argparse.Namespace) -> str:
    if args.run_id is not None:
        return check_run_id(args.run_id, names_file=args.board is None)
    if args.board is None:
        raise BadRunId("give a RUN_ID (or --board FILE|DSN to serve its latest run)")
    runs = runs_on(args.board)
    if not runs:
        raise UnknownRun(f"no run on {_shown(args.board)}")
    return runs[-1].run_id


def _team(board: TeamBoard) -> Team:
    text = board.info().team_text
    return team_from_text(text, f"<run {board.run_id}>") if text else builtin_team()


def board_serve(args: argparse.Namespace) -> int:
    try:
        run_id = _pick_run(args)
        location = board_location(args.board, run_id)
        if location is None:
            raise NotABoard("a board in memory ends with its run: there is none to serve")
        board = open_board(location, run_id)
    except (UnknownRun, BadRunId, NotABoard, TeamFileError) as exc:
        print(f"teammesh board serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (sqlite3.Error, OSError) as exc:
        print(f"teammesh board serve: cannot read the board: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # psycopg's errors: named, the DSN never echoed
        print(f"teammesh board serve: cannot open {_shown(args.board)}:"
              f" {type(exc).__name__}", file=sys.stderr)
        return EXIT_USAGE
    try:
        team = _team(board)
        source = Source(board=board, team=team, watch=Watch(), read_only=args.read_only)
        feed = Feed(source, interval=POLL_INTERVAL_S, poll=POLL_INTERVAL_S)
        asyncio.run(_serve(feed, args))
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError, TeamFileError) as exc:
        print(f"teammesh board serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        board.close()
    return 0


async def _serve(feed: Feed, args: argparse.Namespace) -> None:
    async with serve_board(feed, host=args.host, port=args.port, read_only=args.read_only,
                           allow_hosts=args.allow_host) as served:
        print(f"web board of {feed.source.board.run_id}"
              f" ({'read-only' if args.read_only else 'approvals answerable'}):"
              f" {served.url}", file=sys.stderr, flush=True)
        await asyncio.Event().wait()  # until Ctrl-C
