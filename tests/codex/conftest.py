"""Fixtures for the codex runtime tests: the real codex binary, the real model server, the
real gateway.

The binary comes from `make codex` (`.cache/codex`). Without it these tests skip with the
reason on a developer machine, but FAIL under `CI=true`: a required test skipped in CI is a
failure.

Each test module gets one model server and one gateway (one app-server), since an
app-server start and a fresh `CODEX_HOME` cost more than the tests themselves.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from teammesh.brain.server import ModelServerThread
from teammesh.gateway.runtimes.codex_binary import CodexBinaryNotFound, find_codex_binary

from .stack import Stack, codex_stack

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    try:
        return find_codex_binary()
    except CodexBinaryNotFound as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the codex tests are required in CI: {exc}")
        pytest.skip(f"codex binary not installed (run `make codex`): {exc}")


@pytest.fixture(scope="module")
def codex_data_dir() -> Iterator[Path]:
    """A gateway data dir outside /tmp: codex refuses to put its helper binaries under a
    temporary dir, and `CODEX_HOME` lives in the data dir."""
    path = REPO_ROOT / ".cache" / "test-runs" / f"codex-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(codex_bin: Path, codex_data_dir: Path) -> Iterator[Stack]:
    """The module's default stack: the playbook model server, and a gateway whose runtime
    is codex against it. A module that needs another (a dead endpoint, a recovery model)
    defines its own `stack`, which takes precedence."""
    with (
        ModelServerThread() as model,
        codex_stack(codex_bin, codex_data_dir, model_base_url=f"{model.base_url}/v1") as stack,
    ):
        yield stack


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the module's gateway (`stack` is the fixture each module defines)."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        yield client
