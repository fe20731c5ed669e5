"""The run's printed lines (S10), written whole, one at a time, so lines from members that
run concurrently never interleave. Everything else (run id, final status) goes to `notes`
(stderr by default), so stdout carries exactly the seed's lines."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, TextIO

from teammesh.mesh.terminal_text import inert


def first_line(reply: str | None) -> str:
    lines = (reply or "").strip().splitlines()
    return lines[0] if lines else "(no assistant reply)"


def _silence(stream: TextIO) -> None:
    """Point a closed pipe's descriptor at /dev/null, so the interpreter's last flush of
    what is still buffered does not fail at exit either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class Printer:
    def __init__(self, out: TextIO | None = None, notes: TextIO | None = None) -> None:
        # None: sys.stdout / sys.stderr as they are at each write (the live view swaps them).
        self._given_out = out
        self._given_notes = notes
        self._lock = threading.Lock()
        self.lines: list[str] = []
        self._closed: set[int] = set()  # streams whose reader has gone

    @property
    def _out(self) -> TextIO:
        return self._given_out if self._given_out is not None else sys.stdout

    @property
    def _notes(self) -> TextIO:
        return self._given_notes if self._given_notes is not None else sys.stderr

    def _write(self, stream: TextIO, line: str) -> None:
        # A reply's first line, a tool's name, a reason: text a model chose, never raw on a
        # terminal (escape sequences shown as \u001b, terminal_text.py).
        line = inert(line)
        with self._lock:
            if stream is self._out:
                self.lines.append(line)
            if id(stream) in self._closed:
                return
            try:
                stream.write(line + "\n")
                stream.flush()
            except (BrokenPipeError, ValueError):
                # The reader went away (`teammesh demo | head`): the run goes on, its board
                # records everything; only the printing stops.
                self._closed.add(id(stream))
                _silence(stream)

    def call_started(self, member: str, tool: str) -> None:
        """A member's tool call reached its handler (printed by nobody: the web board's
        printer, `web/watch.py`, shows "calling <tool>" from it)."""

    def tool_call(self, member: str, tool: str) -> None:
        self._write(self._out, f"[tool-call] {member}: {tool}")

    def reply(self, round_number: int, member: str, reply: str | None) -> None:
        self._write(self._out, f"[round {round_number}] {member}: {first_line(reply)}")

    def timeout(self, round_number: int, member: str, turn_id: str, approvals: int,
                tool_calls: int) -> None:
        prefix = f"[round {round_number}] {member}:"
        self._write(self._out, f"{prefix} timeout waiting for turn {turn_id}")
        self._write(self._out, f"{prefix} pending approvals={approvals}")
        self._write(self._out, f"{prefix} pending tool calls={tool_calls}")

    def turn_problem(self, round_number: int, member: str, problem: str) -> None:
        self._write(self._out, f"[round {round_number}] {member}: {problem}")

    def final(self, snapshot: dict[str, Any]) -> None:
        self._write(self._out, "Final board snapshot:")
        self._write(self._out, repr(snapshot))

    def note(self, text: str) -> None:
        self._write(self._notes, text)
