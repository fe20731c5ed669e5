"""The terminal's yes/no prompt for approvals (`answer = "ask"`).

One reader thread owns stdin and hands each line to the oldest open question, so a question
answered elsewhere (on the web board) is withdrawn instead of leaving a `readline` blocked on
it that would swallow the answer meant for the next one. Each question is written as one
whole line ending in its answer keys: the live view redirects stderr and shows a partial line
only once it ends, which is how the old prompt came to appear without its `[y/N]`.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from typing import TextIO

from teammesh.mesh.terminal_text import inert

KEYS = "[y/N]"
YES = ("y", "yes")


@dataclass
class _Open:
    question: str
    answered: threading.Event = field(default_factory=threading.Event)
    value: bool = False


class TerminalPrompt:
    """An `Asker`: blocking `__call__(question) -> bool`, plus `withdraw` for a question
    answered elsewhere."""

    def __init__(self, stdin: TextIO | None = None, out: TextIO | None = None) -> None:
        self._stdin = stdin if stdin is not None else sys.stdin
        self._out = out
        self._lock = threading.Lock()
        self._open: list[_Open] = []
        self._reader: threading.Thread | None = None

    def _write(self, line: str) -> None:
        out = self._out if self._out is not None else sys.stderr  # stdout: the run's lines
        try:
            out.write(inert(line) + "\n")
            out.flush()
        except (OSError, ValueError):
            pass

    def __call__(self, question: str) -> bool:
        entry = _Open(question)
        with self._lock:
            self._open.append(entry)
            first = len(self._open) == 1
            if self._reader is None:
                self._reader = threading.Thread(target=self._read, name="teammesh-prompt",
                                                daemon=True)
                self._reader.start()
        if first:
            self._show(entry)
        entry.answered.wait()
        return entry.value

    def _show(self, entry: _Open) -> None:
        self._write(f"? {entry.question} {KEYS} (y + Enter approves; Enter declines)")

    def _read(self) -> None:
        while True:
            try:
                line = self._stdin.readline()
            except (OSError, ValueError):
                line = ""
            if not line:  # end of input: every open question is a no
                with self._lock:
                    pending, self._open = self._open, []
                    self._reader = None
                for entry in pending:
                    entry.answered.set()
                return
            self._answer(line.strip().lower() in YES)

    def _answer(self, value: bool) -> None:
        with self._lock:
            if not self._open:
                return  # nothing asked: a stray line
            entry = self._open.pop(0)
            following = self._open[0] if self._open else None
        entry.value = value
        entry.answered.set()
        if following is not None:
            self._show(following)

    def withdraw(self, question: str, how: str) -> None:
        """`question` is settled without this terminal (`how`: "already answered: approved
        by web"): drop it, say so."""
        following = None
        with self._lock:
            entry = next((e for e in self._open if e.question == question), None)
            if entry is not None:
                was_first = self._open[0] is entry
                self._open.remove(entry)
                following = self._open[0] if (was_first and self._open) else None
        # Also when the terminal's own answer came second: it is told it did not count.
        self._write(f"  {how} ({question})")
        if entry is not None:
            entry.answered.set()  # its thread returns a no the gate ignores: the board decided
        if following is not None:
            self._show(following)
