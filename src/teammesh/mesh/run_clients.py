"""Federation (A4): the client of each gateway a team's sessions live on.

A member with an `endpoint` has its session on that gateway; the others on the run's own.
There is one client per endpoint, given by the caller or opened here (and then closed here
at the end of the run), so a team spread over three gateways listens on three streams.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from teammesh.client import AsyncCodexManager, ClientConfig


class EndpointClients:
    def __init__(self, own: AsyncCodexManager, endpoints: Iterable[str | None],
                 given: Mapping[str, AsyncCodexManager] | None = None) -> None:
        self.own = own
        self.by_endpoint: dict[str, AsyncCodexManager] = dict(given or {})
        self._opened: list[AsyncCodexManager] = []
        for endpoint in endpoints:
            if endpoint is not None and endpoint not in self.by_endpoint:
                # The environment's credentials, not `own`'s: those may be the token of this
                # run's own embedded gateway, which no other gateway should ever see.
                client = AsyncCodexManager(base_url=endpoint,
                                           headers=ClientConfig.from_env().headers)
                self.by_endpoint[endpoint] = client
                self._opened.append(client)

    def for_endpoint(self, endpoint: str | None) -> AsyncCodexManager:
        """The client of the gateway at `endpoint` (None: the run's own)."""
        return self.by_endpoint[endpoint] if endpoint is not None else self.own

    async def close_opened(self) -> None:
        """Close the clients opened here (the caller's own stay open)."""
        for client in self._opened:
            with contextlib.suppress(Exception):
                await client.close()
