"""Plugins: objects with `name` and `register(client)`; optional `start()` / `stop()`."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ClientPlugin(Protocol):
    name: str

    def register(self, client: Any) -> Any: ...


@runtime_checkable
class PluginLifecycle(Protocol):
    def start(self) -> Any: ...
    def stop(self) -> Any: ...


SyncClientPlugin = AsyncClientPlugin = ClientPlugin


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class PluginRegistry:
    def __init__(self, plugins: Iterable[Any] | None = None) -> None:
        self.plugins: list[Any] = list(plugins or ())
        self._started: list[Any] = []

    async def start_all(self, client: Any) -> None:
        for plugin in self.plugins:
            await _resolve(plugin.register(client))
        for plugin in self.plugins:
            if isinstance(plugin, PluginLifecycle):
                try:
                    await _resolve(plugin.start())
                except Exception:
                    await self.stop_all()
                    raise
                self._started.append(plugin)

    async def stop_all(self) -> None:
        while self._started:
            plugin = self._started.pop()
            try:
                await _resolve(plugin.stop())
            except Exception:
                continue
