"""A quality check loaded by a team file (`quality = "tests.mesh.quality_checks:no_todo"`)."""

from __future__ import annotations

from teammesh.mesh.board import TeamBoard

LIMIT = 3


def no_todo(board: TeamBoard) -> list[str]:
    return [f"artifact {a.id} still says TODO" for a in board.artifacts() if "TODO" in a.summary]
