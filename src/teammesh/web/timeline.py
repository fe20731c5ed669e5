"""The timeline: one lane per member, its turns and tool calls as bars, handoffs as arrows
between lanes.

Built from the board's run record (`TeamBoard.run_record()`: turns and calls with their
start and end times, the records the traces come from) when the board has one; otherwise
from what the page's `Watch` saw (turn times as first seen by its polls, call times as the
runner's printer told it, in the runner's process). `source` says which, so the page can
say how exact the bars are.
"""

from __future__ import annotations

from typing import Any

from teammesh.mesh.board import TeamBoard
from teammesh.web.watch import Watch

# The page draws at most this many bars per lane (the newest): a long run stays readable.
MAX_BARS_PER_LANE = 400


def _record(board: TeamBoard) -> Any:
    read = getattr(board, "run_record", None)
    if read is None:
        return None
    try:
        return read()
    except Exception:  # a store without the records yet (an old board file): use the watch
        return None


def timeline(board: TeamBoard, watch: Watch, roster: tuple[str, ...]) -> dict[str, Any]:
    lanes: dict[str, list[dict[str, Any]]] = {name: [] for name in roster}
    record = _record(board)
    source = "watch"
    if record is not None and (record.turns or record.calls):
        source = "board"
        for turn in record.turns:
            if turn.started_at is None or turn.member not in lanes:
                continue
            lanes[turn.member].append({"kind": "turn", "start": turn.started_at,
                                       "end": turn.ended_at, "state": turn.state,
                                       "label": f"round {turn.round}",
                                       "reason": turn.reason})
        for call in record.calls:
            if call.started_at is None or call.member not in lanes:
                continue
            lanes[call.member].append({"kind": "call", "start": call.started_at,
                                       "end": call.ended_at, "state": call.outcome,
                                       "label": call.tool})
    else:
        for seen in watch.turns.values():
            if seen.member in lanes:
                lanes[seen.member].append({"kind": "turn", "start": seen.started,
                                           "end": seen.ended, "state": seen.state,
                                           "label": f"round {seen.round}",
                                           "reason": seen.reason})
        for call in watch.calls:
            if call.member in lanes:
                lanes[call.member].append({"kind": "call", "start": call.started,
                                           "end": call.ended, "state": "",
                                           "label": call.tool})
    for bars in lanes.values():
        bars.sort(key=lambda bar: bar["start"])
        del bars[:-MAX_BARS_PER_LANE]
    starts = [bar["start"] for bars in lanes.values() for bar in bars]
    return {"source": source, "start": min(starts, default=watch.started),
            "lanes": lanes, "handoffs": list(watch.handoffs[-MAX_BARS_PER_LANE:])}


def usage(board: TeamBoard) -> dict[str, Any] | None:
    """Token usage per member and in total, from the run record; None when the board has no
    usage (the playbook runtime has no model: the page shows "—", never a made-up 0)."""
    record = _record(board)
    if record is None:
        return None
    try:
        by_member = record.usage_by_member()
        total = record.usage_total()
        cost = record.cost_usd()
    except Exception:
        return None
    if not by_member:
        return None

    def plain(u: Any) -> dict[str, int]:
        total = u.total() if callable(u.total) else u.total
        return {"input": u.input_tokens, "cached_input": u.cached_input_tokens,
                "output": u.output_tokens, "reasoning": u.reasoning_tokens,
                "total": int(total)}

    return {"total": plain(total), "by_member": {m: plain(u) for m, u in by_member.items()},
            "cost_usd": cost, "calls": len(record.calls), "turns": len(record.turns)}
