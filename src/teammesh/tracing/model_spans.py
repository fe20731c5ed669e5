"""The model server's span per model call (`teammesh model serve`): `chat <model>`, a
child of the caller's `traceparent` when the caller sends one, else the root of its own
trace. codex does not propagate trace context to its model provider, so under the codex
runtime these spans stand alone (docs/tracing.md); a client that sends `traceparent` (the
OpenAI SDK with HTTP instrumentation, a test) gets them in its trace."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry import trace

from teammesh.tracing import names, state
from teammesh.tracing.propagation import context_from_headers
from teammesh.tracing.spans import failed, short

PROVIDER = "teammesh.playbook"  # what answers: the offline playbook brain

Endpoint = Callable[[Any], Awaitable[Any]]


def traced_model_call(endpoint: Endpoint) -> Endpoint:
    """A Starlette endpoint inside a `chat` span (renamed once the model is known)."""

    @functools.wraps(endpoint)
    async def traced(request: Any) -> Any:
        tracer = state.tracer()
        if tracer is None:
            return await endpoint(request)
        attributes = {names.OPERATION: "chat", names.PROVIDER_NAME: PROVIDER}
        with tracer.start_as_current_span("chat", context=context_from_headers(request.headers),
                                          kind=trace.SpanKind.SERVER,
                                          attributes=attributes) as span:
            response = await endpoint(request)
            status = getattr(response, "status_code", 200)
            span.set_attribute("http.response.status_code", status)
            if status >= 400:
                failed(span, str(status), f"HTTP {status}")
            return response

    return traced


def note_model_call(model: str | None, usage: dict[str, Any] | None = None) -> None:
    """The request's model (and the answer's usage) on the current model-call span."""
    if not state.active():
        return
    span = trace.get_current_span()
    if not span.is_recording():
        return
    if model:
        model = short(model)  # the caller's string: bounded before it names a span
        span.update_name(f"chat {model}")
        span.set_attribute(names.REQUEST_MODEL, model)
    if usage:
        for key, attribute in (("input_tokens", names.INPUT_TOKENS),
                               ("output_tokens", names.OUTPUT_TOKENS)):
            value = usage.get(key)
            if isinstance(value, int):
                span.set_attribute(attribute, value)
