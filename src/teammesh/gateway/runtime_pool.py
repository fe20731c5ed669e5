"""Runtimes built lazily on first use, one instance per spec string, plus the per-session
runtime selection by `model` string (common rules):

- a model equal to a runtime name, or starting with `<runtime>:` / `<runtime>?`, picks that
  runtime; the rest after `:` is the model, the rest after `?` are spec options;
- any other model string goes to the gateway's default runtime as its model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from teammesh.gateway.runtimes.base import Runtime, RuntimeSink
from teammesh.gateway.runtimes.registry import (
    RUNTIME_MODULES,
    RuntimeSettings,
    build_runtime,
    parse_spec,
)

log = logging.getLogger("teammesh.gateway.runtimes")


def select_runtime(model: str | None, default_spec: str) -> tuple[str, str | None]:
    """`(runtime spec, model for that runtime)` for a session's `model` string."""
    if not model:
        return default_spec, None
    default_name, _ = parse_spec(default_spec)
    for name in RUNTIME_MODULES:
        if model == name:
            return (default_spec if name == default_name else name), None
        if model.startswith(name + ":"):
            rest = model[len(name) + 1 :].strip() or None
            return (default_spec if name == default_name else name), rest
        if model.startswith(name + "?"):
            return model, None
    return default_spec, model


class RuntimePool:
    def __init__(
        self,
        default_spec: str,
        settings: RuntimeSettings,
        sink_for: Callable[[str], RuntimeSink],
    ) -> None:
        self.default_spec = default_spec
        self._settings = settings
        self._sink_for = sink_for
        self._runtimes: dict[str, Runtime] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def validate(self, spec: str) -> None:
        """Raise `UnknownRuntimeError` for a spec naming no runtime or an unknown option,
        without building anything."""
        from teammesh.gateway.runtimes.registry import UnknownRuntimeError, with_options

        name, options = parse_spec(spec)
        if name not in RUNTIME_MODULES:
            known = ", ".join(sorted(RUNTIME_MODULES))
            raise UnknownRuntimeError(f"unknown runtime {name!r} (known: {known})")
        try:
            with_options(self._settings, options)
        except (TypeError, ValueError) as exc:
            raise UnknownRuntimeError(str(exc)) from exc

    async def get(self, spec: str) -> Runtime:
        runtime = self._runtimes.get(spec)
        if runtime is not None:
            return runtime
        lock = self._locks.setdefault(spec, asyncio.Lock())
        async with lock:
            runtime = self._runtimes.get(spec)
            if runtime is None:
                runtime = build_runtime(spec, self._settings)
                await runtime.start(self._sink_for(spec))
                self._runtimes[spec] = runtime
                log.info("runtime %s started", spec)
        return runtime

    def peek(self, spec: str) -> Runtime | None:
        return self._runtimes.get(spec)

    async def stop_all(self) -> None:
        runtimes, self._runtimes = self._runtimes, {}
        for spec, runtime in runtimes.items():
            try:
                await runtime.stop()
            except Exception:
                log.exception("runtime %s failed to stop cleanly", spec)
