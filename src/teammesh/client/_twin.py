"""Sync twins written once: a blocking method is its async original, run on the bridge.

Every sync class of the client (`CodexManager`, `WaitApi`, `RemoteSkillSession`,
`RemoteSkillsFacade`) wraps an async original. Typing each twin by hand repeated ~700
lines and let twins drift (keywords accepted and silently dropped). Here a twin method is
declared from its original instead:

    class RemoteSkillSession(Twin[AsyncRemoteSkillSession]):
        send = blocking(AsyncRemoteSkillSession.send)       # runs the coroutine, blocks
        register = same(AsyncRemoteSkillSession.register)   # a plain method, forwarded

Both keep the original's parameters exactly (ParamSpec for mypy, `__wrapped__` for
`inspect.signature`), so a twin cannot drop an argument. A twin that must do more than
forward (run a callback in the caller's thread, wrap a handle) uses `mirrors` to take the
original's parameters and writes only its own body.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from teammesh.client._bridge import LoopThread

A = TypeVar("A")
P = ParamSpec("P")
R = TypeVar("R")


class Wrapper(Generic[A]):
    """Anything that forwards to an original (`same` needs no more)."""

    inner: A


class Twin(Wrapper[A]):
    """A sync twin: the async original it wraps and the bridge that runs its coroutines."""

    def __init__(self, inner: A, bridge: LoopThread) -> None:
        self.inner = inner
        self._bridge = bridge


def blocking(
    original: Callable[Concatenate[A, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Twin[A], P], R]:
    """The twin of an async method: the same parameters, its result once the coroutine
    has run to completion on the twin's private loop."""

    name = original.__name__

    @functools.wraps(original)
    def run(self: Twin[A], /, *args: P.args, **kwargs: P.kwargs) -> R:
        # Looked up on the instance, as a hand-written twin would: an override or a patched
        # method of the original is what runs.
        method: Callable[P, Coroutine[Any, Any, R]] = getattr(self.inner, name)
        return self._bridge.run(method(*args, **kwargs))

    return run


def same(original: Callable[Concatenate[A, P], R]) -> Callable[Concatenate[Wrapper[A], P], R]:
    """The twin of a plain (sync) method: called on the original as is."""

    name = original.__name__

    @functools.wraps(original)
    def forward(self: Wrapper[A], /, *args: P.args, **kwargs: P.kwargs) -> R:
        method: Callable[P, R] = getattr(self.inner, name)
        return method(*args, **kwargs)

    return forward


def mirrors(
    original: Callable[Concatenate[Any, P], object],
) -> Callable[[Callable[..., R]], Callable[Concatenate[Any, P], R]]:
    """Give a hand-written twin method the original's parameters (for mypy and for
    `inspect.signature`); the body receives them as its own `*args, **kwargs`."""

    def adopt(body: Callable[..., R]) -> Callable[Concatenate[Any, P], R]:
        body.__wrapped__ = original  # type: ignore[attr-defined]
        return body

    return adopt
