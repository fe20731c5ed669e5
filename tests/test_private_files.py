"""`teammesh.private_files` on real files: what it creates is owner-only whatever the umask,
what older versions left open is tightened only where it is ours, and a shared sticky dir or a
folder the user picked is never changed."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from teammesh.mesh.board import NotABoard, list_runs
from teammesh.private_files import (
    ForeignOwnerError,
    open_private_append,
    private_dir,
    private_file,
    private_parent,
    private_sqlite,
    write_private_text,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The worst case: a umask that filters nothing, so every mode seen is the one asked."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_created_dirs_and_their_missing_parents_are_0700(tmp_path: Path) -> None:
    private_dir(tmp_path / "a" / "b" / "c")
    for level in ("a", "a/b", "a/b/c"):
        assert mode(tmp_path / level) == 0o700, level


def test_an_existing_open_dir_is_tightened_and_keeps_its_owner_bits(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir(mode=0o755)
    (tmp_path / "old").chmod(0o775)
    private_dir(tmp_path / "old")
    assert mode(tmp_path / "old") == 0o700


def test_a_teammesh_folder_above_a_private_dir_is_tightened_others_are_not(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    (project / ".teammesh").mkdir(parents=True)
    project.chmod(0o755)
    (project / ".teammesh").chmod(0o755)
    private_dir(project / ".teammesh" / "gateway")
    assert mode(project / ".teammesh") == 0o700
    assert mode(project) == 0o755  # the user's own folder is theirs to set


def test_a_sticky_shared_dir_is_never_changed(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    private_dir(shared)
    assert mode(shared) == 0o1777
    private_dir(shared / "mine")
    assert mode(shared / "mine") == 0o700


def test_a_file_location_the_user_chose_leaves_existing_folders_alone(tmp_path: Path) -> None:
    chosen = tmp_path / "mine"
    chosen.mkdir()
    chosen.chmod(0o755)
    private_parent(chosen / "board.sqlite")
    assert mode(chosen) == 0o755
    private_parent(chosen / "new" / "board.sqlite")
    assert mode(chosen / "new") == 0o700
    # ...but the project's runs folder is ours, wherever it sits.
    runs = tmp_path / ".teammesh" / "runs"
    runs.mkdir(parents=True)
    runs.chmod(0o755)
    (tmp_path / ".teammesh").chmod(0o755)
    private_parent(runs / "run-1.sqlite")
    assert (mode(runs), mode(tmp_path / ".teammesh")) == (0o700, 0o700)


def test_files_are_created_0600_and_old_ones_tightened(tmp_path: Path) -> None:
    assert mode(private_file(tmp_path / "new")) == 0o600
    old = tmp_path / "old"
    old.write_text("kept")
    old.chmod(0o644)
    private_file(old)
    assert (mode(old), old.read_text()) == (0o600, "kept")


def test_sqlite_companions_follow_the_database_and_old_ones_are_tightened(
    tmp_path: Path,
) -> None:
    db = tmp_path / "x.sqlite"
    conn = sqlite3.connect(private_sqlite(db))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    try:
        for name in ("x.sqlite", "x.sqlite-wal", "x.sqlite-shm"):
            assert mode(tmp_path / name) == 0o600, name
    finally:
        conn.close()
    other = tmp_path / "y.sqlite"
    other.touch()
    for path in (other, tmp_path / "y.sqlite-wal", tmp_path / "y.sqlite-shm"):
        path.touch()
        path.chmod(0o644)
    private_sqlite(other)
    for path in (other, tmp_path / "y.sqlite-wal", tmp_path / "y.sqlite-shm"):
        assert mode(path) == 0o600, path


def test_written_text_is_private_from_its_first_byte_and_replaces_atomically(
    tmp_path: Path,
) -> None:
    target = tmp_path / "config.toml"
    target.write_text("old")
    target.chmod(0o644)
    write_private_text(target, "new")
    assert (target.read_text(), mode(target)) == ("new", 0o600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no temp file left


def test_a_private_log_appends(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    for line in ("one\n", "two\n"):
        fd = open_private_append(log)
        os.write(fd, line.encode())
        os.close(fd)
    assert (log.read_text(), mode(log)) == ("one\ntwo\n", 0o600)


def test_listing_runs_of_a_missing_board_creates_no_file(tmp_path: Path) -> None:
    with pytest.raises(NotABoard, match="no board file"):
        list_runs(tmp_path / "nothing.sqlite")
    assert list(tmp_path.iterdir()) == []


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 and os.environ.get("CI") != "true",  # in CI: run, and fail if not root
    reason="chown to another user needs root")
OTHER_UID = 65534  # nobody


@needs_root
def test_a_dir_or_file_of_another_user_is_refused_not_used(tmp_path: Path) -> None:
    # Another user made the data dir (0777) and planted a world-writable database in it:
    # SQLite would write every transcript where that user reads it.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    os.chown(shared, OTHER_UID, -1)
    with pytest.raises(ForeignOwnerError, match="another user"):
        private_dir(shared)
    assert mode(shared) == 0o777  # not ours to change
    mine = tmp_path / "mine"
    private_dir(mine)
    planted = mine / "gateway.sqlite3"
    planted.touch()
    planted.chmod(0o666)
    os.chown(planted, OTHER_UID, -1)
    with pytest.raises(ForeignOwnerError):
        private_sqlite(planted)
    planted.unlink()
    private_sqlite(planted)
    (mine / "gateway.sqlite3-wal").touch()
    os.chown(mine / "gateway.sqlite3-wal", OTHER_UID, -1)
    with pytest.raises(ForeignOwnerError):
        private_sqlite(planted)
