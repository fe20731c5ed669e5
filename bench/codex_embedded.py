"""The fourth side of `bench.codex_overhead`: our client and the gateway in ONE process, on one
event loop, as `teammesh run` / `teammesh demo` run a codex team (mesh/launch.py embeds the
gateway with `start_gateway`). Compared with a `teammesh serve` child, the client-to-gateway
hops stay inside the process: no second interpreter to wake on each tool call and completion.

The embedded gateway lives in the bench process itself, next to the bare driver; it is idle
while the other sides run (its codex child too), so the interleaving stays fair.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.runtimes.registry import RuntimeSettings


@contextlib.asynccontextmanager
async def embedded_codex_gateway(data_dir: Path, model_base_url: str, model: str
                                 ) -> AsyncIterator[str]:
    """An in-process codex gateway on this loop, as the runner starts it: its base URL."""
    settings = RuntimeSettings(data_dir=data_dir, model=model, model_base_url=model_base_url)
    async with start_gateway(data_dir=data_dir, runtime="codex", settings=settings) as gateway:
        yield gateway.base_url
