"""A live view of the board while a run goes (B4): a rich panel redrawn on every board change
the runner reports, below the run's printed lines. Used only when stdout is a terminal."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from teammesh.mesh.board import TeamBoard

# Redraws are cheap but not free (they read the board): at most this often.
MIN_REDRAW_SECONDS = 0.1


def render(board: TeamBoard) -> Group:
    info = board.info()
    tasks = board.tasks()
    done = set(board.completed())
    members = Table(title=f"{info.run_id} · team {info.team} · round {info.round}"
                          f" · {info.status}", expand=False)
    for column in ("member", "queued", "working on", "done"):
        members.add_column(column)
    for name in board.roster:
        queued = sum(1 for t in tasks if t.owner == name and t.status == "queued")
        claimed = [t.text for t in tasks if t.owner == name and t.status == "claimed"]
        members.add_row(name, str(queued), (claimed[0][:60] if claimed else ""),
                        "yes" if name in done else "")
    artifacts = Table(title="recent artifacts", expand=False)
    for column in ("member", "kind", "summary"):
        artifacts.add_column(column)
    for artifact in board.artifacts()[-5:]:
        artifacts.add_row(artifact.member, artifact.kind, artifact.summary[:80])
    dead = [t for t in tasks if t.status == "dead"]
    parts: list[Table | Text] = [members, artifacts]
    for approval in board.approvals():
        if approval.state == "pending":
            parts.append(Text(f"waiting for approval: {approval.question}", style="bold"))
    if dead:
        parts.append(Text(f"dead letters: {len(dead)}", style="bold red"))
    return Group(*parts)


class LiveBoard:
    def __init__(self, board: TeamBoard, console: Console | None = None) -> None:
        self.board = board
        self._live = Live(render(board), console=console, auto_refresh=False,
                          redirect_stdout=True, redirect_stderr=True, transient=False)
        self._last = 0.0

    def refresh(self) -> None:
        now = time.monotonic()
        if now - self._last < MIN_REDRAW_SECONDS:
            return
        self._last = now
        self._live.update(render(self.board), refresh=True)

    def __enter__(self) -> LiveBoard:
        self._live.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._live.update(render(self.board), refresh=True)
        self._live.__exit__(exc_type, exc, tb)
