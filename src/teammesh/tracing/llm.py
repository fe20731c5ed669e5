"""pydantic-ai's own OpenTelemetry instrumentation (GenAI conventions: `invoke_agent`,
`chat <model>`, `running tool`), sent to our provider. The llm runtime runs each turn inside
the gateway's turn span, so these nest under it. Content (prompts, completions, tool
arguments) only when the GenAI opt-in variable says so, as everywhere else."""

from __future__ import annotations

from typing import Any

from teammesh.tracing import state


def instrument_agent(agent: Any) -> None:
    """Instrument a pydantic-ai `Agent` on our provider; left as it is (pydantic-ai's
    default: off, or whatever `Agent.instrument_all` said) when tracing is off."""
    provider = state.provider()
    if provider is None:
        return
    from pydantic_ai.models.instrumented import InstrumentationSettings

    agent.instrument = InstrumentationSettings(tracer_provider=provider,
                                               include_content=state.capture_content(),
                                               include_binary_content=False)
