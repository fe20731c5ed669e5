"""pydantic-ai's own OpenTelemetry instrumentation (GenAI conventions: `invoke_agent`,
`chat <model>`, `execute_tool <tool>`), sent to our provider. The llm runtime runs each turn
inside the gateway's turn span, so these nest under it. Content (prompts, completions, tool
arguments) only when the GenAI opt-in variable says so, as everywhere else."""

from __future__ import annotations

from typing import Any

from teammesh.tracing import state

# One settings object per (provider, content choice): built once, not per turn.
_settings: dict[tuple[int, bool], Any] = {}


def instrument_agent(agent: Any) -> None:
    """Instrument a pydantic-ai `Agent` on our provider; left as it is (pydantic-ai's
    default: off, or whatever `Agent.instrument_all` said) when tracing is off."""
    provider = state.provider()
    if provider is None:
        return
    key = (id(provider), state.capture_content())
    settings = _settings.get(key)
    if settings is None:
        from pydantic_ai.models.instrumented import InstrumentationSettings

        _settings.clear()  # a new provider (tests swap them): the old settings go
        settings = _settings[key] = InstrumentationSettings(
            tracer_provider=provider, include_content=key[1], include_binary_content=False)
    agent.instrument = settings
