"""What `teammesh runs` and `teammesh runs show` read of a run's record: its board opened
as `board show` opens it (an old board gains the record's columns, which older teammesh
versions ignore), the record read in one transaction, the board closed again."""

from __future__ import annotations

import sqlite3

from teammesh.mesh.board import Location, NotABoard, UnknownRun, open_board
from teammesh.mesh.board.pricing import cost_of_turns
from teammesh.mesh.board.protocol import TaskRecord
from teammesh.mesh.board.run_record import RunRecord
from teammesh.mesh.usage_text import UNKNOWN, cost_text, tokens_text, turns_usage


def read_record(location: Location, run_id: str) -> RunRecord:
    board = open_board(location, run_id)
    try:
        return board.run_record()
    finally:
        board.close()


def read_tasks(location: Location, run_id: str) -> list[TaskRecord]:
    """The run's tasks (`runs show --json` lists each with the turns that claimed it)."""
    board = open_board(location, run_id)
    try:
        return board.tasks()
    finally:
        board.close()


def record_columns(location: Location, run_id: str) -> tuple[str, str, str, str]:
    """(turns, tool calls, tokens, cost) of one run for the listing; "?" each when its
    board cannot be read now."""
    try:
        record = read_record(location, run_id)
    except (UnknownRun, NotABoard, sqlite3.Error, OSError):
        return ("?", "?", "?", "?")
    except Exception as exc:  # PostgreSQL's errors (psycopg is imported only for a DSN)
        if not type(exc).__module__.startswith("psycopg"):
            raise
        return ("?", "?", "?", "?")
    usage = turns_usage(record.turns)
    cost = cost_of_turns(record.turns) if usage is not None else None
    return (str(len(record.turns)), str(len(record.calls)), tokens_text(usage),
            cost_text(cost) if usage is not None else UNKNOWN)
