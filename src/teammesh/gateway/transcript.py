"""Transcript entries (wire §5.3): one per thread item plus supplemental request entries.

Entries are keyed by `(turnId, messageId)` and merged, never duplicated: `item/started`
upserts a `streaming` entry, `item/completed` makes it `complete`. Status only moves up
(`streaming` < `complete` < `canceled` < `error`), so a terminal entry never goes back to
streaming. An assistant entry is `complete` only once its text is final.
"""

from __future__ import annotations

from typing import Any

from teammesh.gateway.pretty_json import dumps_indented

_STATUS_RANK = {"streaming": 0, "complete": 1, "canceled": 2, "error": 3}

Entry = dict[str, Any]


def _user_content(item: dict[str, Any]) -> str:
    parts: list[str] = []
    for part in item.get("content") or []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            parts.append(str(part.get("text", "")))
        elif kind == "image":
            parts.append(f"[image] {part.get('url', '')}")
        elif kind == "localImage":
            parts.append(f"[localImage] {part.get('path', '')}")
        elif kind in ("skill", "mention"):
            parts.append(f"[{kind}] {part.get('path', '')}")
        else:
            parts.append(f"[{kind}]")
    return "\n".join(parts)


def _system_summary(item: dict[str, Any]) -> str:
    kind = str(item.get("type", "unknown"))
    status = item.get("status")
    if kind == "dynamicToolCall":
        return f"Tool {item.get('tool', '')} {status or ''}".strip()
    if kind == "mcpToolCall":
        return f"Tool {item.get('server', '')}/{item.get('tool', '')} {status or ''}".strip()
    if kind == "commandExecution":
        return f"Command execution {status or ''}: {item.get('command', '')}"
    if kind == "fileChange":
        return f"File change {status or ''}: {len(item.get('changes') or [])} change(s)"
    if kind == "reasoning":
        return "Reasoning update"
    if kind == "plan":
        text = item.get("text")
        return f"Plan: {text}" if text else "Plan update"
    return f"[{kind}]"


def entry_for_item(item: dict[str, Any], turn_id: str, status: str, at_ms: int) -> Entry:
    """The transcript entry an `item/started` (streaming) or `item/completed` item gives."""
    kind = str(item.get("type", "unknown"))
    entry: Entry = {"messageId": str(item.get("id", "")), "turnId": turn_id, "type": kind}
    if kind == "userMessage":
        entry.update(role="user", content=_user_content(item))
    elif kind == "agentMessage":
        entry.update(role="assistant", content=str(item.get("text") or ""))
    else:
        entry.update(
            role="system",
            content=_system_summary(item),
            details=dumps_indented(item),
        )
    entry["status"] = status
    entry["startedAt"] = at_ms
    if status != "streaming":
        entry["completedAt"] = at_ms
    return entry


class Transcript:
    """Entries in the order they first appeared. Each entry's position is kept so that the
    store, which writes an entry only when it completes, can restore the same order."""

    def __init__(self, entries: list[tuple[int, Entry]] | None = None) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}
        self._positions: dict[tuple[str, str], int] = {}
        self._next_position = 0
        for position, entry in sorted(entries or [], key=lambda pair: pair[0]):
            key = (entry["turnId"], entry["messageId"])
            self._entries[key] = entry
            self._positions[key] = position
            self._next_position = max(self._next_position, position + 1)

    def position_for(self, turn_id: str, message_id: str) -> int:
        """The position the entry keyed so has, or would take if upserted now."""
        return self._positions.get((turn_id, message_id), self._next_position)

    def position(self, entry: Entry) -> int:
        return self._positions[(entry["turnId"], entry["messageId"])]

    def upsert(self, entry: Entry) -> Entry:
        key = (entry["turnId"], entry["messageId"])
        current = self._entries.get(key)
        if current is None:
            self._entries[key] = entry
            self._positions[key] = self._next_position
            self._next_position += 1
            return entry
        old_rank = _STATUS_RANK.get(current["status"], 0)
        new_rank = _STATUS_RANK.get(entry["status"], 0)
        if new_rank >= old_rank:
            for field in ("content", "details"):
                if entry.get(field):
                    current[field] = entry[field]
            current["status"] = entry["status"]
            current["type"] = entry.get("type", current["type"])
            if "completedAt" in entry:
                current["completedAt"] = entry["completedAt"]
        return current

    def append_delta(self, turn_id: str, message_id: str, delta: str) -> None:
        """Streamed text grows the streaming entry (kept in memory only)."""
        entry = self._entries.get((turn_id, message_id))
        if entry is not None and entry["status"] == "streaming":
            entry["content"] = entry["content"] + delta

    def settle_turn(self, turn_id: str, status: str, at_ms: int) -> list[Entry]:
        """At the end of a turn, any entry still streaming takes the turn's outcome:
        `complete` for a completed turn, `canceled` for an interrupted one, `error` for a
        failed one (a half-streamed reply is never reported as a complete answer)."""
        changed: list[Entry] = []
        for (entry_turn, _), entry in self._entries.items():
            if entry_turn == turn_id and entry["status"] == "streaming":
                entry["status"] = status
                entry["completedAt"] = at_ms
                changed.append(entry)
        return changed

    def drop_turns(self, turn_ids: set[str]) -> None:
        """A rollback: every entry of these turns goes (positions of the rest stay)."""
        for key in [k for k in self._entries if k[0] in turn_ids]:
            del self._entries[key]
            del self._positions[key]

    def items(self) -> list[tuple[int, Entry]]:
        """`(position, entry)` pairs, e.g. to copy the transcript into a fork."""
        return [(self._positions[key], entry) for key, entry in self._entries.items()]

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def get(self, turn_id: str, message_id: str) -> Entry | None:
        return self._entries.get((turn_id, message_id))
