"""OpenTelemetry traces of a run, with the GenAI semantic conventions (docs/tracing.md).

Only `opentelemetry-api` is a dependency: until a process calls `configure()` with the
standard `OTEL_*` variables set (and the `otel` extra's SDK installed), or an embedder or test
hands a provider to `install()`, every hook here returns at its first line, so a run without
tracing pays one attribute read per hook. One job per module:

    names.py         the attribute names (GenAI conventions; ours under `teammesh.*`)
    state.py         the installed provider, its tracer, and the content opt-in
    setup.py         a provider from the environment; flushed when the process exits
    propagation.py   W3C `traceparent` in and out
    run_spans.py     the runner's spans: the run, each member turn
    tool_spans.py    the runner's tool-call, approval-wait and handoff spans
    gateway_spans.py the gateway's turn spans, their usage, the traceparent of their calls
    model_spans.py   the model server's span per response
    llm.py           pydantic-ai's instrumentation on our provider
"""

from teammesh.tracing.setup import configure
from teammesh.tracing.state import active, install

__all__ = ["active", "configure", "install"]
