"""`teammesh runs show RUN_ID` (a run's timeline) and `teammesh runs transcript RUN_ID
MEMBER` (a member session's history), both read from the run's board.

    teammesh runs show RUN_ID [--dir DIR | --board PATH] [--json | --jsonl]
    teammesh runs transcript RUN_ID MEMBER [--dir DIR | --board PATH] [--json]

The timeline lists each member turn (start relative to the run's first turn, duration,
state, tokens) with the tool calls made in it (the board's outcome, duration, arguments and
result). On a terminal, arguments and results are cut to one short line; `--json` (one
document) and `--jsonl` (one entry a line, in time order) give them whole. What a model
chose (arguments, results, tool names) is printed as ASCII JSON, so no control character
from it reaches the terminal.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sqlite3
import sys
from typing import Any

from teammesh.mesh.board import (
    BadRunId,
    Location,
    NotABoard,
    UnknownRun,
    board_path,
    check_run_id,
)
from teammesh.mesh.board.pricing import cost_of_turns
from teammesh.mesh.board.run_record import CallEntry, RunRecord, TurnEntry, Usage
from teammesh.mesh.runs_record import read_record, read_tasks
from teammesh.mesh.task_history import tasks_json
from teammesh.mesh.terminal_text import inert_line
from teammesh.mesh.usage_text import UNKNOWN, cost_text, tokens_detail, tokens_text, turns_usage

EXIT_USAGE = 2
# A terminal line's JSON part (arguments, result), at most.
SHOWN_JSON_CHARS = 72


def _location(args: argparse.Namespace) -> Location:
    check_run_id(args.run_id, names_file=args.board is None)
    if args.board is not None:
        return str(args.board)
    path = board_path(args.run_id, args.dir)
    if not path.exists():
        raise UnknownRun(f"no board for run {args.run_id} in {args.dir}")
    return path


def _read(args: argparse.Namespace, command: str) -> RunRecord | None:
    try:
        return read_record(_location(args), args.run_id)
    except (UnknownRun, BadRunId, NotABoard) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
    except (sqlite3.Error, OSError) as exc:
        print(f"{command}: cannot read the board: {exc}", file=sys.stderr)
    return None


# -- JSON ------------------------------------------------------------------------------------

def _usage_json(usage: Usage | None) -> dict[str, int] | None:
    return None if usage is None else {**dataclasses.asdict(usage), "total": usage.total}


def _run_json(record: RunRecord) -> dict[str, Any]:
    info = record.info
    usage = turns_usage(record.turns)
    return {
        "run_id": info.run_id, "team": info.team, "status": info.status,
        "round": info.round, "reason": info.reason, "created_at": info.created_at,
        "updated_at": info.updated_at, "turns": len(record.turns),
        "tool_calls": len(record.calls), "usage": _usage_json(usage),
        "cost_usd": cost_of_turns(record.turns) if usage is not None else None,
        "usage_by_member": {m: _usage_json(u) for m, u in record.usage_by_member().items()},
    }


def _turn_json(turn: TurnEntry) -> dict[str, Any]:
    return {**dataclasses.asdict(turn), "usage": _usage_json(turn.usage),
            "duration": turn.duration}


def _call_json(call: CallEntry) -> dict[str, Any]:
    return {**dataclasses.asdict(call), "duration": call.duration}


def _timeline(record: RunRecord) -> list[dict[str, Any]]:
    """Turns and calls in the order they started (entries without a start last)."""
    entries = [{"kind": "turn", **_turn_json(t)} for t in record.turns]
    entries += [{"kind": "call", **_call_json(c)} for c in record.calls]
    last = float("inf")
    return sorted(entries, key=lambda e: (last if e["started_at"] is None else e["started_at"],
                                          e["kind"] == "call"))


# -- the terminal ----------------------------------------------------------------------------

def _ascii_json(value: Any, limit: int | None = SHOWN_JSON_CHARS) -> str:
    text = json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text


def _plain(text: str) -> str:
    """Text from a gateway or a model as one safe line: control characters and bidi
    overrides escaped (`\\u001b`), everything else as it is."""
    return inert_line(text)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _offset(at: float | None, origin: float | None) -> str:
    if at is None or origin is None:
        return f"{'?':>9}"
    return f"{f'+{at - origin:.3f}s':>9}"


def _utc(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _print_call(call: CallEntry, origin: float | None, indent: str) -> None:
    outcome = call.outcome + (f" ({_plain(call.reason[:200])})" if call.reason else "")
    print(f"{indent}{_offset(call.started_at, origin)}  {_plain(call.tool)}"
          f"  {outcome}  {_clock(call.duration)}")
    print(f"{indent}    args {_ascii_json(call.arguments)}")
    if call.result is not None:
        print(f"{indent}    → {_ascii_json(call.result)}")


def _print_terminal(record: RunRecord) -> None:
    info = record.info
    usage = turns_usage(record.turns)
    cost = cost_of_turns(record.turns) if usage is not None else None
    print(f"run {info.run_id} · team {_plain(info.team)} · {info.status} · round {info.round}"
          + (f" · {info.reason}" if info.reason else ""))
    starts = [t.started_at for t in record.turns if t.started_at is not None]
    origin = min(starts) if starts else None
    began = f"first turn {_utc(origin)} UTC · " if origin is not None else ""
    print(f"{began}{len(record.turns)} turn(s) · {len(record.calls)} tool call(s)"
          f" · tokens {tokens_detail(usage)} · cost {cost_text(cost)}")
    for member, used in record.usage_by_member().items():
        mine = [t for t in record.turns if t.member == member]
        print(f"  {member}: tokens {tokens_detail(used)}, cost"
              f" {cost_text(cost_of_turns(mine))}")
    by_turn: dict[str | None, list[CallEntry]] = {}
    for call in record.calls:
        by_turn.setdefault(call.turn_token, []).append(call)
    print("timeline:")
    for turn in record.turns:
        tokens = tokens_text(turn.usage)
        model = (f" ({_plain(turn.model)})" if turn.model and turn.usage is not None
                 else "")
        reason = f" · {_plain(turn.reason)}" if turn.reason else ""
        print(f"  {_offset(turn.started_at, origin)}  {turn.member}  round {turn.round}"
              f"  {turn.state}  {_clock(turn.duration)}  tokens {tokens}{model}"
              f"  turn {_plain(turn.turn_id) if turn.turn_id else UNKNOWN}{reason}")
        for call in by_turn.pop(turn.token, []):
            _print_call(call, origin, "    ")
    stray = [c for calls in by_turn.values() for c in calls]
    if stray:
        print("tool calls outside a recorded turn:")
        for call in stray:
            _print_call(call, origin, "    ")


def show_run(args: argparse.Namespace) -> int:
    record = _read(args, "teammesh runs show")
    if record is None:
        return EXIT_USAGE
    if args.json:
        tasks = tasks_json(read_tasks(_location(args), args.run_id), record)
        json.dump({"run": _run_json(record), "turns": [_turn_json(t) for t in record.turns],
                   "calls": [_call_json(c) for c in record.calls], "tasks": tasks},
                  sys.stdout,
                  sort_keys=True, indent=2)
        print()
    elif args.jsonl:
        print(json.dumps({"kind": "run", **_run_json(record)}, sort_keys=True))
        for entry in _timeline(record):
            print(json.dumps(entry, sort_keys=True))
    else:
        _print_terminal(record)
    return 0


# -- transcripts -----------------------------------------------------------------------------

def _items(detail: Any) -> list[tuple[str, dict[str, Any]]]:
    """(turn id, item) of every item of every turn of a session detail."""
    thread = detail.get("thread") if isinstance(detail, dict) else None
    turns = thread.get("turns") if isinstance(thread, dict) else None
    found = []
    for turn in turns if isinstance(turns, list) else []:
        if not isinstance(turn, dict):
            continue
        for item in turn.get("items") or []:
            if isinstance(item, dict):
                found.append((str(turn.get("id")), item))
    return found


def _item_line(item: dict[str, Any]) -> str:
    kind = str(item.get("type"))
    if kind == "userMessage":
        content = item.get("content")
        parts = content if isinstance(content, list) else []
        text = " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
        return f"user: {_plain(text)}"
    if kind == "agentMessage":
        return f"agent: {_plain(str(item.get('text', '')))}"
    if kind == "dynamicToolCall":
        return (f"tool {_plain(str(item.get('tool')))}"
                f" {_ascii_json(item.get('arguments'))} → success={item.get('success')}")
    return f"{_plain(kind)}: {_ascii_json(item)}"


def show_transcript(args: argparse.Namespace) -> int:
    command = "teammesh runs transcript"
    try:
        from teammesh.mesh.board import open_board

        board = open_board(_location(args), args.run_id)
    except (UnknownRun, BadRunId, NotABoard) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (sqlite3.Error, OSError) as exc:
        print(f"{command}: cannot read the board: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.member not in board.roster:
            print(f"{command}: no member {args.member!r} in run {args.run_id} (team:"
                  f" {', '.join(board.roster)})", file=sys.stderr)
            return EXIT_USAGE
        saved = board.transcript(args.member)
    finally:
        board.close()
    if saved is None:
        print(f"{command}: run {args.run_id} has no saved transcript of {args.member}: it is"
              " copied when a run ends (resume an interrupted run to make one)",
              file=sys.stderr)
        return EXIT_USAGE
    session_id, detail = saved
    if args.json:
        json.dump(detail, sys.stdout, sort_keys=True, indent=2)
        print()
        return 0
    print(f"{args.member} · session {session_id} · run {args.run_id}")
    current = None
    for turn_id, item in _items(detail):
        if turn_id != current:
            print(f"turn {turn_id}:")
            current = turn_id
        print(f"  {_item_line(item)}")
    return 0
