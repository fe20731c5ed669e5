"""A SQLite board on a full disk (a real small tmpfs): a refused write is one
`BoardStorageError`, nothing of it is applied, and the board works again once there is room
(the run is kept, so `--resume` continues it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from teammesh.mesh.board import SYSTEM_MEMBER, create_board, open_board
from teammesh.mesh.board.storage_errors import BoardStorageError
from tests.reliability.test_full_disk import fill, small_disk

__all__ = ["small_disk"]  # the tmpfs fixture, shared with the gateway's full-disk test


def test_full_disk_refuses_a_board_write_and_keeps_the_run(small_disk: Path) -> None:
    path = small_disk / "board.sqlite"
    board = create_board(run_id="full", team="t", roster=("a", "b"), path=path)
    board.queue_work("a", "before the disk filled", by=SYSTEM_MEMBER, key="k0")
    filler = fill(small_disk)
    refused = 0
    for number in range(40):
        try:
            board.queue_work("a", f"task {number} " + "x" * 2000, by=SYSTEM_MEMBER,
                             key=f"k{number + 1}")
        except BoardStorageError as exc:
            assert "cannot be written" in str(exc)
            refused += 1
    assert refused > 0
    accepted = 40 - refused
    filler.unlink()
    board.queue_work("a", "after space returned", by=SYSTEM_MEMBER, key="after")
    board.close()
    reopened = open_board(path, "full")
    try:
        depth = reopened.queue_depth("a")
        assert depth == 1 + accepted + 1  # every accepted write, none of the refused ones
        assert reopened.info().status == "running"
    finally:
        reopened.close()


def test_unknown_durability_is_refused(tmp_path: Path) -> None:
    board = create_board(run_id="d", team="t", roster=("a",), path=tmp_path / "b.sqlite")
    try:
        with pytest.raises(ValueError, match="durability"):
            board._store.set_durability("sometimes")  # type: ignore[attr-defined]
        board._store.set_durability("full")  # type: ignore[attr-defined]
    finally:
        board.close()
