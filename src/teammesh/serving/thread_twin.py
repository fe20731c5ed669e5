"""The sync twin of an embedded server: its async `start_…` context manager, run on an
event loop of its own in a daemon thread (`GatewayThread`, `ModelServerThread`).

Written once so both twins start, report a startup failure and stop the same way, and so a
twin's constructor takes exactly the arguments of the async function it runs
(`same_arguments_as`: declared once, checked by mypy, bound at run time).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
S = TypeVar("S")
T = TypeVar("T")


def same_arguments_as(
    function: Callable[P, object],
) -> Callable[[Callable[Concatenate[S, ...], None]], Callable[Concatenate[S, P], None]]:
    """Give a twin's `__init__(self, *args, **kwargs)` the parameters of `function`."""

    def apply(init: Callable[Concatenate[S, ...], None]) -> Callable[Concatenate[S, P], None]:
        return init

    return apply


def bound_arguments(function: Callable[..., object], args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> dict[str, Any]:
    """`function`'s parameters as this call gives them, defaults filled in (a wrong or
    missing argument is the `TypeError` calling `function` would raise)."""
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


class ServingThread(Generic[T]):
    """`opener()` entered on its own loop in a daemon thread until `stop()`."""

    def __init__(self, opener: Callable[[], AbstractAsyncContextManager[T]], name: str) -> None:
        self._opener = opener
        self._name = name
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._value: T | None = None
        self._error: BaseException | None = None

    @property
    def value(self) -> T | None:
        """What the context manager yielded (kept after `stop()`); None before it started."""
        return self._value

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with self._opener() as value:
                self._value = value
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:  # surfaced to the thread that starts it
            self._error = exc
        finally:
            self._ready.set()

    def start(self, timeout: float | None = None) -> T:
        """Run it; return once it has started. Raises its startup error, or `TimeoutError`."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()),
                                        name=self._name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"{self._name} did not start in time")
        if self._error is not None:
            raise self._error
        value = self._value
        if value is None:
            raise RuntimeError(f"{self._name} stopped during startup")
        return value

    def stop(self, timeout: float = 15.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
