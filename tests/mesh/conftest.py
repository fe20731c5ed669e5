"""Boards for mesh tests: every board test runs against both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from teammesh.mesh.board import TeamBoard, create_board

ROSTER = ("developer", "docs", "reviewer")


@pytest.fixture(params=["memory", "sqlite"])
def board(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TeamBoard]:
    path = None if request.param == "memory" else tmp_path / "run.sqlite"
    made = create_board(run_id="run-test", team="default", roster=ROSTER, path=path)
    yield made
    made.close()
