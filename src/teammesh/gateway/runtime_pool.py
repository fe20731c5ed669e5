"""Runtimes built lazily on first use, one instance per spec string, plus the per-session
runtime selection by `model` string (common rules):

- a model equal to a runtime name, or starting with `<runtime>:` / `<runtime>?`, picks that
  runtime; the rest after `:` is the model, the rest after `?` are spec options;
- any other model string goes to the gateway's default runtime as its model.

(`session_policy.SessionPolicy.runtime_for` is the hub's reading of a client's model string:
it admits only client-safe options. `select_runtime` stays for callers that read an
operator's string.)

The pool is bounded (`max_runtimes`): a new key over the bound first evicts a runtime no live
session uses (`in_use`), else it is refused with `RuntimeLimitError`, never spawned.
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


class RuntimeLimitError(RuntimeError):
    """Starting one more runtime would pass the pool's bound."""


class RuntimePool:
    def __init__(
        self,
        default_spec: str,
        settings: RuntimeSettings,
        sink_for: Callable[[str], RuntimeSink],
        *,
        max_runtimes: int | None = None,
        in_use: Callable[[str], bool] | None = None,
    ) -> None:
        self.default_spec = default_spec
        self._settings = settings
        self._sink_for = sink_for
        self._runtimes: dict[str, Runtime] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.max_runtimes = max_runtimes
        self._in_use = in_use or (lambda key: True)
        self._starting: set[str] = set()  # keys between their slot and their start

    @property
    def live_count(self) -> int:
        return len(self._runtimes) + len(self._starting)

    async def _make_room(self, spec: str) -> None:
        """Reserve a slot for `spec` (synchronously, so concurrent starts cannot overshoot):
        evict an idle runtime when the pool is full, else refuse. The default runtime always
        has its slot: client choices share the other `max_runtimes - 1`."""
        others = sum(1 for key in (*self._runtimes, *self._starting) if key != self.default_spec)
        if (spec == self.default_spec or self.max_runtimes is None
                or others < self.max_runtimes - 1):
            self._starting.add(spec)
            return
        idle = next((key for key in self._runtimes
                     if key != self.default_spec and not self._in_use(key)), None)
        if idle is None:
            raise RuntimeLimitError(
                f"{self.live_count} runtimes are running, the most this gateway keeps "
                f"(teammesh serve --max-runtimes {self.max_runtimes}); "
                f"{spec!r} would need another"
            )
        runtime = self._runtimes.pop(idle)
        self._starting.add(spec)
        try:
            await runtime.stop()
            log.info("runtime %s stopped (idle, making room for %s)", idle, spec)
        except Exception:
            log.exception("runtime %s failed to stop cleanly", idle)

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
                await self._make_room(spec)
                try:
                    runtime = build_runtime(spec, self._settings)
                    await _start_or_stop(runtime, self._sink_for(spec))
                finally:
                    self._starting.discard(spec)
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


async def _start_or_stop(runtime: Runtime, sink: RuntimeSink) -> None:
    """Start `runtime`; when the start fails or is cancelled (a gateway stopping while its
    runtime still starts), stop what it had begun, so no child process outlives it."""
    try:
        await runtime.start(sink)
    except BaseException:
        try:
            await asyncio.shield(runtime.stop())
        except Exception:
            log.exception("runtime %s failed to stop after a failed start", runtime.name)
        raise
