"""One real gateway on the codex runtime (so one real app-server) for a test module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from teammesh.gateway.embedded import GatewayThread
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.gateway.session_policy import SessionCeiling

from .wire_helpers import ECHO_TOOL, create_session


@dataclass
class Stack:
    base_url: str
    workspace: Path


@contextmanager
def codex_stack(
    codex_bin: Path, data_dir: Path, ceiling: SessionCeiling | None = None, **settings: Any
) -> Iterator[Stack]:
    """The gateway keeps its state in `data_dir/gateway`; `data_dir/workspace` is the
    sessions' working directory (inside the default cwd ceiling: the repo the tests run
    in). `settings` are further `RuntimeSettings` fields; `ceiling` the session ceiling."""
    workspace = data_dir / "workspace"
    workspace.mkdir()
    runtime_settings = RuntimeSettings(
        data_dir=data_dir / "gateway", codex_bin=str(codex_bin), **settings
    )
    with GatewayThread(
        data_dir=data_dir / "gateway", runtime="codex", settings=runtime_settings,
        ceiling=ceiling,
    ) as gateway:
        yield Stack(base_url=gateway.base_url, workspace=workspace)


async def echo_session(http: httpx.AsyncClient, stack: Stack) -> str:
    """A session in the stack's workspace that offers the echo tool and asks no approvals."""
    return await create_session(
        http, cwd=str(stack.workspace), approvalPolicy="never", dynamicTools=[ECHO_TOOL]
    )
