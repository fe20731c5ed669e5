"""Fan-out of stream events to handlers, in registration order, each route isolated."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from teammesh.client.events import StreamContext, StreamEvent

StreamMatcher = Callable[[StreamEvent], bool]
StreamHandler = Callable[[StreamEvent, StreamContext], Any]
HandlerErrorCallback = Callable[[Exception, StreamEvent], Any]

logger = logging.getLogger("teammesh.client.stream")


class StreamRouter(Protocol):
    def add(self, matcher: StreamMatcher, handler: StreamHandler) -> None: ...
    def dispatch(self, event: StreamEvent, context: StreamContext) -> Awaitable[None]: ...


def log_handler_error(error: Exception, event: StreamEvent) -> None:
    logger.error("stream handler failed for event %s: %s", event.type, error, exc_info=error)


class EventRouter:
    def __init__(self, on_handler_error: HandlerErrorCallback | None = None) -> None:
        self._routes: list[tuple[StreamMatcher, StreamHandler]] = []
        self._on_handler_error = on_handler_error or log_handler_error

    def add(self, matcher: StreamMatcher, handler: StreamHandler) -> None:
        self._routes.append((matcher, handler))

    async def dispatch(self, event: StreamEvent, context: StreamContext) -> None:
        # Every matching route runs (fan-out). One failing matcher or handler never stops
        # the others; cancellation (BaseException) still propagates.
        for matcher, handler in list(self._routes):
            try:
                if matcher(event):
                    result = handler(event, context)
                    if inspect.isawaitable(result):
                        await result
            except Exception as error:
                await self._report(error, event)

    async def _report(self, error: Exception, event: StreamEvent) -> None:
        try:
            result = self._on_handler_error(error, event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.debug("stream error callback failed", exc_info=True)
