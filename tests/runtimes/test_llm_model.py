"""Which pydantic-ai model the llm runtime builds from its settings (no network here: only
the construction; the end-to-end paths are in test_llm_runtime.py)."""

from __future__ import annotations

import pytest
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel

from teammesh.gateway.runtimes.base import RuntimeFailure
from teammesh.gateway.runtimes.llm_model import api_base, resolve_model, split_model

BASE = "http://127.0.0.1:9/v1"


def test_without_a_base_url_pydantic_ai_reads_the_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = resolve_model("openai:gpt-4o", None, None)
    assert model.model_name == "gpt-4o"
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(RuntimeFailure, match="OPENAI_API_KEY") as missing_key:
        resolve_model("openai:gpt-4o", None, None)
    assert missing_key.value.code == -32602
    with pytest.raises(RuntimeFailure, match="nonsense:foo"):
        resolve_model("nonsense:foo", None, None)


def test_base_url_models_pick_the_api_by_prefix() -> None:
    responses = resolve_model("openai-responses:playbook", BASE, None)
    assert isinstance(responses, OpenAIResponsesModel)
    assert responses.model_name == "playbook"
    assert isinstance(resolve_model("playbook", BASE, None), OpenAIResponsesModel)
    assert isinstance(resolve_model(None, BASE, None), OpenAIResponsesModel)
    chat = resolve_model("openai:playbook", BASE, None)
    assert isinstance(chat, OpenAIChatModel) and chat.model_name == "playbook"
    ollama = resolve_model("ollama:llama3:8b", BASE, None)
    assert isinstance(ollama, OpenAIChatModel) and ollama.model_name == "llama3:8b"
    tagged = resolve_model("llama3:8b", BASE, None)
    assert isinstance(tagged, OpenAIResponsesModel) and tagged.model_name == "llama3:8b"


def test_key_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMMESH_TEST_KEY", "sk-test-123")
    model = resolve_model("openai:m", BASE, "TEAMMESH_TEST_KEY")
    assert model.client.api_key == "sk-test-123"
    monkeypatch.delenv("TEAMMESH_TEST_KEY")
    with pytest.raises(RuntimeFailure, match="TEAMMESH_TEST_KEY"):
        resolve_model("openai:m", BASE, "TEAMMESH_TEST_KEY")


def test_no_model_and_no_base_url_is_refused() -> None:
    with pytest.raises(RuntimeFailure, match="needs a model"):
        resolve_model(None, None, None)


def test_helpers() -> None:
    assert api_base("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert api_base("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/v1"
    assert api_base("http://h:1/openai/v1/") == "http://h:1/openai/v1"
    assert split_model("openai:gpt-4o") == ("openai", "gpt-4o")
    assert split_model("gpt-4o") == (None, "gpt-4o")
    assert split_model("llama3:8b") == (None, "llama3:8b")
