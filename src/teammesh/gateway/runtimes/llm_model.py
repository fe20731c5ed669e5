"""Which pydantic-ai model the llm runtime talks to.

- No base URL: the model string goes to pydantic-ai as is (`openai:gpt-4o`,
  `anthropic:claude-sonnet-4-5`, `ollama:llama3`, ...), keys from the provider's usual
  environment variables.
- With `model_base_url` (an OpenAI-compatible server): `openai-responses:NAME`,
  `responses:NAME` or a bare `NAME` use the Responses API (what `teammesh model serve`
  speaks); `openai:NAME`, `openai-chat:NAME` or `chat:NAME` use Chat Completions (Ollama,
  vLLM, ...). The key comes from the environment variable `model_api_key_env` names; a local
  server that checks none gets a placeholder. A base URL without a path gets `/v1`.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from teammesh.gateway.runtimes.base import RuntimeFailure

RESPONSES_PREFIXES = ("openai-responses:", "responses:")
CHAT_PREFIXES = ("openai:", "openai-chat:", "chat:")
# Our model server (and many local ones) accept any key; the OpenAI SDK insists on one.
PLACEHOLDER_KEY = "teammesh-local"


def api_base(base_url: str) -> str:
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _api_key(key_env: str | None) -> str:
    if key_env:
        value = os.environ.get(key_env)
        if not value:
            raise RuntimeFailure(-32602, f"environment variable {key_env} (model key) is not set")
        return value
    return PLACEHOLDER_KEY


def resolve_model(model: str | None, base_url: str | None, key_env: str | None) -> Any:
    """A pydantic-ai `Model` (or model string) for these settings."""
    if not model:
        if not base_url:
            raise RuntimeFailure(
                -32602, "the llm runtime needs a model, e.g. llm?model=openai:gpt-4o"
            )
        model = "playbook"
    if not base_url:
        return model
    try:
        from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
        from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider
    except ImportError as exc:  # the `llm` extra is not installed
        message = f"the llm runtime needs pydantic-ai-slim[openai]: {exc}"
        raise RuntimeFailure(-32602, message) from exc
    provider = OpenAICompatibleProvider(
        "teammesh-model", base_url=api_base(base_url), api_key=_api_key(key_env)
    )
    for prefix in CHAT_PREFIXES:
        if model.startswith(prefix):
            return OpenAIChatModel(model[len(prefix) :], provider=provider)
    for prefix in RESPONSES_PREFIXES:
        if model.startswith(prefix):
            model = model[len(prefix) :]
            break
    return OpenAIResponsesModel(model, provider=provider)
