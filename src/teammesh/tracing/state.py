"""The process's tracing state: the provider our spans go to (None: tracing off), its
tracer, and whether content (prompts, arguments, results) may be recorded.

Kept here rather than in the API's global provider because the global one can be set only
once per process; tests (and embedders) swap providers with `install()`."""

from __future__ import annotations

import os
from dataclasses import dataclass

from opentelemetry import trace

CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
TRACER_NAME = "teammesh"


@dataclass
class _State:
    provider: trace.TracerProvider | None = None
    tracer: trace.Tracer | None = None
    capture_content: bool = False


_state = _State()


def content_opted_in() -> bool:
    """The GenAI conventions' opt-in variable: content only when it says true."""
    return os.environ.get(CONTENT_ENV, "").strip().lower() in ("true", "1", "yes")


def install(provider: trace.TracerProvider | None) -> None:
    """Send teammesh's spans to `provider` (None: tracing off). The content opt-in is read
    now, so a process decides it once."""
    _state.provider = provider
    _state.tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None
    _state.capture_content = provider is not None and content_opted_in()


def active() -> bool:
    return _state.tracer is not None


def tracer() -> trace.Tracer | None:
    """The tracer, or None when tracing is off (every hook returns at once then)."""
    return _state.tracer


def provider() -> trace.TracerProvider | None:
    return _state.provider


def capture_content() -> bool:
    return _state.capture_content
