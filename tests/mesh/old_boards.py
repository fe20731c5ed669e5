"""Boards as a teammesh before schema versioning left them: no `schema_version` table.

Tests that make an "old board" by dropping what a later format added from a new one also
drop the version table, so the board reads as version 0 and every migration runs again on
open (each is idempotent), as it does on a real pre-versioning board.
"""

from __future__ import annotations

from typing import Any


def unversion_sqlite(conn: Any) -> None:
    conn.execute("DROP TABLE IF EXISTS schema_version")


def unversion_pg(conn: Any) -> None:
    conn.execute("DROP TABLE IF EXISTS teammesh_schema_version")
