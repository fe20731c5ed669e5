"""Request hooks: `before`, `after` and `on_error`, per operation key or `"*"`.

Hooks run inside the async request pipeline; a hook may be sync or async (awaited).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from teammesh.client.request import RequestCall

HookKind = Literal["before", "after", "error"]
AnyCallable = Callable[..., Any]
F = TypeVar("F", bound=AnyCallable)

# `RequestCall` lives in `request.py` (the one request object); hooks receive it, and
# `teammesh.client.hooks.RequestCall` stays importable.
__all__ = [
    "AsyncHookMiddleware",
    "HookKind",
    "HookMiddleware",
    "HookRegistry",
    "RequestCall",
    "SyncHookMiddleware",
]


@runtime_checkable
class HookMiddleware(Protocol):
    def before(self, call: RequestCall) -> Any: ...
    def after(self, call: RequestCall, response: Any) -> Any: ...
    def on_error(self, call: RequestCall, error: BaseException) -> Any: ...


# Both names exist upstream; our hooks may be sync or async in either client.
SyncHookMiddleware = HookMiddleware
AsyncHookMiddleware = HookMiddleware


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class HookRegistry:
    def __init__(self) -> None:
        self._hooks: dict[HookKind, dict[str, list[AnyCallable]]] = {
            "before": {},
            "after": {},
            "error": {},
        }

    def add(self, kind: HookKind, fn: AnyCallable, operation: str = "*") -> None:
        self._hooks[kind].setdefault(operation, []).append(fn)

    def before(self, operation: str = "*") -> Callable[[F], F]:
        return self._decorator("before", operation)

    def after(self, operation: str = "*") -> Callable[[F], F]:
        return self._decorator("after", operation)

    def on_error(self, operation: str = "*") -> Callable[[F], F]:
        return self._decorator("error", operation)

    def use_middleware(self, middleware: object, *, operation: str = "*") -> None:
        methods: list[tuple[HookKind, AnyCallable]] = []
        for kind, name in (("before", "before"), ("after", "after"), ("error", "on_error")):
            fn = getattr(middleware, name, None)
            if not callable(fn):
                raise TypeError(f"hook middleware must provide callable {name}()")
            methods.append((kind, fn))  # type: ignore[arg-type]
        for kind, fn in methods:
            self.add(kind, fn, operation)

    def _decorator(self, kind: HookKind, operation: str) -> Callable[[F], F]:
        def register(fn: F) -> F:
            self.add(kind, fn, operation)
            return fn

        return register

    def _matching(self, kind: HookKind, operation: str) -> list[AnyCallable]:
        # "*" hooks first, then the operation's own, each in registration order.
        table = self._hooks[kind]
        hooks = list(table.get("*", []))
        if operation != "*":
            hooks.extend(table.get(operation, []))
        return hooks

    async def run_before(self, call: RequestCall) -> None:
        for hook in self._matching("before", call.operation):
            await _maybe_await(hook(call))

    async def run_after(self, call: RequestCall, response: Any) -> None:
        for hook in self._matching("after", call.operation):
            await _maybe_await(hook(call, response))

    async def run_error(self, call: RequestCall, error: BaseException) -> None:
        for hook in self._matching("error", call.operation):
            await _maybe_await(hook(call, error))
