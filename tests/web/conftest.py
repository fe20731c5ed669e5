"""Fixtures of the web board tests: a throwaway PostgreSQL server (as the mesh tests')."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from bench.postgres_server import postgres_dsn as throwaway_postgres


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    with throwaway_postgres(max_connections=50) as dsn:
        if dsn is None:
            reason = "no PostgreSQL server could be started (Debian: postgresql, PyPI: psycopg)"
            if os.environ.get("CI") == "true":
                pytest.fail(f"the PostgreSQL web board test is required in CI: {reason}")
            pytest.skip(reason)
        yield dsn
