"""Removing a run from its board: a run that never started (so no `running · round 0`
board is left behind) and finished runs (`teammesh runs prune`).

A run's rows are deleted from its board; a SQLite file left holding no run is removed
with its WAL and shared-memory files (and the `<board>.<run>.lock` files earlier versions
left beside it). Removal goes to the real file a symlink names, since that is where SQLite
keeps the WAL too.
"""

from __future__ import annotations

import contextlib
import glob
from pathlib import Path

from teammesh.mesh.board import is_dsn, list_runs
from teammesh.mesh.board.sqlite import SqliteStore

_SIDE_FILES = ("-wal", "-shm", "-journal")


def remove_board_file(path: str | Path) -> None:
    real = Path(path).resolve()
    for name in (str(real), *(str(real) + suffix for suffix in _SIDE_FILES),
                 *glob.glob(glob.escape(str(real)) + ".run-*.lock")):
        with contextlib.suppress(FileNotFoundError):
            Path(name).unlink()
    given = Path(path)
    if given.is_symlink():
        given.unlink()  # the link pointed at the file just removed


def discard_run(location: str | Path, run_id: str) -> None:
    """Delete the run's rows; remove a SQLite file that holds no run afterwards. The caller
    holds the run's lock."""
    if is_dsn(location):
        from teammesh.mesh.board.postgres import PostgresStore

        pg = PostgresStore.open(str(location), run_id=run_id)
        try:
            pg.delete_run()
        finally:
            pg.close()
        return
    store = SqliteStore.open(location, run_id=run_id)
    try:
        store.delete_run()
    finally:
        store.close()
    if not list_runs(location):
        remove_board_file(location)
