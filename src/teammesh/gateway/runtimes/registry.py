"""Runtime names → runtime factories.

Each runtime module exposes `build(settings: RuntimeSettings) -> Runtime`. Modules are imported
lazily so that, e.g., the playbook gateway never imports pydantic-ai.

A spec string names a runtime and optional query options: `playbook`, `playbook?think_ms=200`,
`codex`, `llm?model=openai:gpt-4o`. Options in the spec override the settings' fields.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from teammesh.gateway.runtimes.base import Runtime

RUNTIME_MODULES: dict[str, str] = {
    "playbook": "teammesh.gateway.runtimes.playbook",
    "llm": "teammesh.gateway.runtimes.llm",
    "codex": "teammesh.gateway.runtimes.codex",
}


@dataclass
class RuntimeSettings:
    """Options shared by every runtime; each runtime reads the ones it understands."""

    data_dir: Path = field(default_factory=lambda: Path(".teammesh"))
    # playbook: simulated model latency per model call, milliseconds.
    think_ms: int = 0
    # llm / codex: the model and the Responses/OpenAI-compatible endpoint serving it.
    model: str | None = None
    model_base_url: str | None = None
    model_api_key_env: str | None = None
    # codex: the binary (default: .cache/codex install, then PATH).
    codex_bin: str | None = None
    # Give up on an unanswered tool call after this many seconds (None: wait forever).
    tool_call_deadline_s: float | None = None


class UnknownRuntimeError(ValueError):
    pass


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    name, _, query = spec.partition("?")
    return name.strip(), dict(parse_qsl(query, keep_blank_values=True))


def with_options(settings: RuntimeSettings, options: dict[str, str]) -> RuntimeSettings:
    """Apply `?key=value` options from a spec onto a copy of the settings, typed by field."""
    known = {f.name: f for f in dataclasses.fields(RuntimeSettings)}
    updates: dict[str, Any] = {}
    for key, raw in options.items():
        if key not in known:
            raise UnknownRuntimeError(f"unknown runtime option {key!r}")
        current = getattr(settings, key)
        if key == "think_ms":
            updates[key] = int(raw)
        elif key == "tool_call_deadline_s":
            updates[key] = float(raw) if raw else None
        elif isinstance(current, Path):
            updates[key] = Path(raw)
        else:
            updates[key] = raw or None
    return dataclasses.replace(settings, **updates)


def build_runtime(spec: str, settings: RuntimeSettings) -> Runtime:
    name, options = parse_spec(spec)
    module_name = RUNTIME_MODULES.get(name)
    if module_name is None:
        known = ", ".join(sorted(RUNTIME_MODULES))
        raise UnknownRuntimeError(f"unknown runtime {name!r} (known: {known})")
    module = importlib.import_module(module_name)
    runtime: Runtime = module.build(with_options(settings, options))
    return runtime
