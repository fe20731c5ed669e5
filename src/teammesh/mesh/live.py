"""A live view of the board while a run goes (B4): a rich panel redrawn on every board change
the runner reports, below the run's printed lines. Used only when stdout is a terminal.

The essentials of the web board, on a terminal: elapsed time, each member's state in the
same words (idle / turn running N s / calling `tool` / waiting for approval / failed: reason /
done, `web.member_state`), the counters, and a pending approval's question with its answer
keys (the prompt itself goes to stderr, which this view redirects). The layout is stable:
every section is always there and columns have fixed widths, so a redraw never jumps.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from teammesh.mesh.board import TeamBoard
from teammesh.mesh.terminal_prompt import KEYS
from teammesh.mesh.terminal_text import inert_line
from teammesh.web.member_state import member_state
from teammesh.web.watch import Watch

# Redraws are cheap but not free (they read the board): at most this often.
MIN_REDRAW_SECONDS = 0.1
ARTIFACT_ROWS = 5


def _plain(text: object) -> Text:
    """Board text (a task, a summary, the team's name: what a team file or a model chose) as
    a cell: never read as rich markup (`[/bold]` raised MarkupError and ended the run;
    `[link=…]` made a terminal hyperlink), control and bidi characters shown escaped."""
    return Text(inert_line(str(text)))


def _clock(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _state_text(state: dict[str, Any], now: float) -> str:
    since = state.get("since")
    if state["kind"] in ("running", "calling") and isinstance(since, float):
        return f"{state['label']} {max(0.0, now - since):.0f} s"
    return str(state["label"])


_STYLES = {"idle": "dim", "running": "blue", "calling": "magenta", "approval": "bold yellow",
           "failed": "bold red", "done": "green"}


def render(board: TeamBoard, watch: Watch | None = None, live: Any = None,
           started: float | None = None) -> Group:
    watch = watch if watch is not None else Watch()
    now = time.time()
    info = board.info()
    tasks = board.tasks()
    turns = board.turns()
    approvals = board.approvals()
    done = set(board.completed())
    watch.see_turns(turns)
    calls = live.calls.count if live is not None else len(board.records())
    turn_count = live.turns if live is not None else len(turns)
    dead = sum(1 for t in tasks if t.status == "dead")
    elapsed = _clock(now - (started if started is not None else watch.started))
    members = Table(title=_plain(f"{info.run_id} · team {info.team} · round {info.round}"
                                 f" · {info.status} · {elapsed}"), expand=False)
    counters = Text(f"turns {turn_count} · tool calls {calls} · failed turns"
                    f" {sum(1 for t in turns if t.state in ('failed', 'lost'))}"
                    f" · dead letters {dead} · artifacts {len(board.artifacts())}")
    members.add_column("member", min_width=10)
    members.add_column("state", min_width=24, max_width=36, no_wrap=True)
    members.add_column("queued", justify="right", min_width=6)
    members.add_column("working on", min_width=16, max_width=40, no_wrap=True)
    for name in board.roster:
        queued = sum(1 for t in tasks if t.owner == name and t.status == "queued")
        claimed = [t.text for t in tasks if t.owner == name and t.status == "claimed"]
        state = member_state(name, done=name in done, turns=turns, approvals=approvals,
                             watch=watch, live=live)
        members.add_row(_plain(name), Text(inert_line(_state_text(state, now)),
                                           style=_STYLES[state["kind"]]),
                        str(queued), _plain(claimed[0][:40] if claimed else ""))
    artifacts = Table(title="recent artifacts", expand=False)
    artifacts.add_column("member", min_width=10)
    artifacts.add_column("kind", min_width=14)
    artifacts.add_column("summary", min_width=20, max_width=56, no_wrap=True)
    recent = board.artifacts()[-ARTIFACT_ROWS:]
    for artifact in recent:
        artifacts.add_row(_plain(artifact.member), _plain(artifact.kind),
                          _plain(artifact.summary[:56]))
    for _ in range(ARTIFACT_ROWS - len(recent)):
        artifacts.add_row("", "", "")  # the same height every time
    parts: list[Table | Text] = [members, counters, artifacts]
    pending = [a for a in approvals if a.state == "pending"]
    if pending:
        for approval in pending:
            parts.append(Text(f"waiting for approval #{approval.id}: {approval.question}"
                              f" {KEYS} (type y + Enter to approve, Enter to decline)",
                              style="bold yellow"))
    else:
        parts.append(Text("no approval pending", style="dim"))
    return Group(*parts)


class LiveBoard:
    def __init__(self, board: TeamBoard, console: Console | None = None) -> None:
        self.board = board
        self.watch = Watch()
        self.state: Any = None  # the runner's RunState, once it is told (`attach`)
        # Redrawn on every change the runner reports, and once a second by rich's own
        # thread so the clocks tick between changes (the board's stores are thread-safe).
        self._live = Live(console=console, get_renderable=self._render, auto_refresh=True,
                          refresh_per_second=1, redirect_stdout=True, redirect_stderr=True,
                          transient=False)
        self._last = 0.0

    def _render(self) -> Group:
        return render(self.board, self.watch, self.state)

    def attach(self, state: Any) -> None:
        self.state = state

    def refresh(self) -> None:
        now = time.monotonic()
        if now - self._last < MIN_REDRAW_SECONDS:
            return
        self._last = now
        self._live.refresh()

    def __enter__(self) -> LiveBoard:
        self._live.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._live.refresh()
        self._live.__exit__(exc_type, exc, tb)
