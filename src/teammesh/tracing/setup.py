"""A tracer provider from the standard OpenTelemetry environment, once per process.

Tracing is on when `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`) or an OTLP
endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), unless
`OTEL_SDK_DISABLED` is true or the exporter is `none`. Nothing set: no provider at all, not
even the SDK imported. The SDK's own exporter reads the endpoint, headers and timeout
variables; `OTEL_SERVICE_NAME` names the process (else the default each command passes).
Spans are batched and flushed when the process exits.
"""

from __future__ import annotations

import atexit
import logging
import os
from typing import TYPE_CHECKING

from teammesh.tracing import state

if TYPE_CHECKING:  # the SDK is an optional extra
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("teammesh.tracing")

EXTRA_HINT = "pip install 'teammesh[otel]'"
_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def wanted_exporters(env: dict[str, str] | None = None) -> list[str]:
    """The exporters the environment asks for ([] = tracing off)."""
    env = dict(os.environ) if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")
             if n.strip()]
    if not named:
        # The spec's default exporter is otlp; we only assume it when an endpoint says so,
        # so a machine with no OTEL_* variables never starts exporting.
        return ["otlp"] if any(env.get(v, "").strip() for v in _ENDPOINT_VARS) else []
    return [] if "none" in named else named


def configure(default_service: str) -> bool:
    """Install a provider from the environment; True when tracing is on. Called once by
    each process's entry point (runner, `teammesh serve`, `teammesh model serve`)."""
    if state.active():
        return True
    exporters = wanted_exporters()
    if not exporters:
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_* tracing variables are set but the OpenTelemetry SDK is not"
                    " installed; no traces are exported (%s)", EXTRA_HINT)
        return False
    service = os.environ.get("OTEL_SERVICE_NAME", "").strip() or default_service
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    added = 0
    for name in exporters:
        exporter: SpanExporter | None = _exporter(name)
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
            added += 1
    if not added:
        return False
    state.install(provider)
    atexit.register(provider.shutdown)  # flushes the batch on the way out
    return True


def _exporter(name: str) -> SpanExporter | None:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTEL_TRACES_EXPORTER=otlp needs the OTLP/HTTP exporter (%s)",
                        EXTRA_HINT)
            return None
        protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf").strip()
        if protocol not in ("http/protobuf", ""):
            log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported; using http/protobuf",
                        protocol)
        return OTLPSpanExporter()
    log.warning("OTEL_TRACES_EXPORTER=%s is not supported (otlp, console, none)", name)
    return None
