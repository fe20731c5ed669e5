"""Which pydantic-ai model the llm runtime talks to.

- No base URL: pydantic-ai reads the model string (`openai:gpt-4o`,
  `anthropic:claude-sonnet-4-5`, `ollama:llama3`, ...); keys come from each provider's usual
  environment variables. A missing key or extra, or an unknown model, refuses the turn at
  once with pydantic-ai's own message.
- With `model_base_url` (a server of your own):
  - `openai-responses:NAME`, `responses:NAME` or a bare `NAME`: the OpenAI Responses API —
    what `teammesh model serve` and codex's providers speak;
  - `anthropic:NAME`: the Anthropic Messages API at that URL (needs the `anthropic` extra);
  - `openai:`, `openai-chat:`, `chat:`, `ollama:`, `vllm:`, ... (`CHAT_PREFIXES`): OpenAI
    Chat Completions, which Ollama, vLLM, LM Studio and most gateways serve.
  The key comes from the environment variable `model_api_key_env` names; without it a
  placeholder is sent (local servers check none, the OpenAI SDK insists on one). A base URL
  with no path gets `/v1` (not for Anthropic, whose SDK adds its own path).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from teammesh.gateway.runtimes.base import RuntimeFailure

RESPONSES_PREFIXES = frozenset({"openai-responses", "responses"})
# Prefixes meaning "an OpenAI Chat Completions server"; any other text before a colon is part
# of the model name (e.g. Ollama's `llama3:8b`).
CHAT_PREFIXES = frozenset({
    "openai", "openai-chat", "chat", "openai-compatible", "ollama", "vllm", "lmstudio",
    "litellm", "openrouter", "together", "groq", "deepseek", "mistral", "fireworks",
})
PLACEHOLDER_KEY = "teammesh-local"
DEFAULT_LOCAL_MODEL = "playbook"


def api_base(base_url: str) -> str:
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _api_key(key_env: str | None) -> str:
    if key_env:
        value = os.environ.get(key_env)
        if not value:
            raise RuntimeFailure(-32602, f"environment variable {key_env} (model key) is not set")
        return value
    return PLACEHOLDER_KEY


def split_model(model: str) -> tuple[str | None, str]:
    """`openai:gpt-4o` → (`openai`, `gpt-4o`); `llama3:8b` → (None, `llama3:8b`): only a
    known prefix is split off."""
    prefix, sep, name = model.partition(":")
    if sep and prefix in (RESPONSES_PREFIXES | CHAT_PREFIXES | {"anthropic"}):
        return prefix, name
    return None, model


def resolve_model(model: str | None, base_url: str | None, key_env: str | None) -> Any:
    """A pydantic-ai `Model` (or model string) for these settings."""
    if not model:
        if not base_url:
            raise RuntimeFailure(
                -32602, "the llm runtime needs a model, e.g. llm?model=openai:gpt-4o"
            )
        model = DEFAULT_LOCAL_MODEL
    if not base_url:
        return _inferred(model)
    prefix, name = split_model(model)
    name = name or DEFAULT_LOCAL_MODEL
    try:
        if prefix == "anthropic":
            return _anthropic(name, base_url, key_env)
        from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
        from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider
    except ImportError as exc:  # the provider's extra is not installed
        message = f"the llm runtime cannot use {model!r}: {exc}"
        raise RuntimeFailure(-32602, message) from exc
    provider = OpenAICompatibleProvider(
        "teammesh-model", base_url=api_base(base_url), api_key=_api_key(key_env)
    )
    if prefix is None or prefix in RESPONSES_PREFIXES:
        return OpenAIResponsesModel(name, provider=provider)
    return OpenAIChatModel(name, provider=provider)


def _inferred(model: str) -> Any:
    """pydantic-ai's own reading of a model string; a missing key, extra or unknown name is
    refused now (the turn does not start: HTTP 400 with pydantic-ai's message)."""
    try:
        from pydantic_ai.models import infer_model

        return infer_model(model)
    except Exception as exc:  # UserError (key, unknown model), ImportError (extra), ...
        message = f"the llm runtime cannot use {model!r}: {exc}"
        raise RuntimeFailure(-32602, message) from exc


def _anthropic(name: str, base_url: str, key_env: str | None) -> Any:
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    provider = AnthropicProvider(base_url=base_url, api_key=_api_key(key_env))
    return AnthropicModel(name, provider=provider)
