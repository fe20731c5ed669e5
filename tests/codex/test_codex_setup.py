"""Setting up the codex runtime: a missing binary or a missing model provider is a clear,
structured error, never a traceback or a silent fallback to OpenAI."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.runtimes.codex_binary import CodexBinaryNotFound, find_codex_binary
from teammesh.gateway.runtimes.codex_config import (
    CodexConfigError,
    ProviderOptions,
    child_env,
    provider_options,
    render_config,
)
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.gateway.session_policy import SessionCeiling


def test_an_explicit_binary_that_is_not_there_is_named(tmp_path: Path) -> None:
    with pytest.raises(CodexBinaryNotFound, match=r"settings\.codex_bin points at"):
        find_codex_binary(str(tmp_path / "no-codex"))
    # An npm prefix without the package in it is not a binary either.
    with pytest.raises(CodexBinaryNotFound, match="not a codex binary"):
        find_codex_binary(str(tmp_path))


def test_the_provider_must_be_named() -> None:
    with pytest.raises(CodexConfigError, match="model_base_url"):
        provider_options(None, None, None)
    with pytest.raises(CodexConfigError, match="http"):
        provider_options("127.0.0.1:8080", None, None)
    # A bare server URL (what `start_model_server` yields) gets the Responses base path.
    assert provider_options("http://127.0.0.1:8080", None, None).base_url == (
        "http://127.0.0.1:8080/v1"
    )
    openai = provider_options(None, "MY_KEY", "gpt-5")
    assert (openai.base_url, openai.api_key_env) == ("https://api.openai.com/v1", "MY_KEY")


def test_the_child_inherits_only_the_allow_list(tmp_path: Path) -> None:
    base = {
        "OPENAI_API_KEY": "a", "OPENAI_BASE_URL": "b", "CODEX_API_KEY": "c", "PATH": "/bin",
        "TEAMMESH_TOKEN": "t", "CODEX_MANAGER_BEARER_TOKEN": "m", "AWS_SECRET_ACCESS_KEY": "s",
        "CODEX_SQLITE_HOME": "/elsewhere", "LANG": "C.UTF-8", "PYTHONPATH": "/x",
    }
    env = child_env(tmp_path, ProviderOptions(base_url="http://127.0.0.1:1/v1"), base)
    assert env == {
        "PATH": "/bin", "LANG": "C.UTF-8", "CODEX_HOME": str(tmp_path),
        "RUST_LOG": "warn,codex_models_manager::model_info=error",
    }
    # ...plus the one variable the provider reads its key from.
    named = ProviderOptions(base_url="https://api.openai.com/v1", api_key_env="OPENAI_API_KEY")
    assert child_env(tmp_path, named, base)["OPENAI_API_KEY"] == "a"
    assert set(child_env(tmp_path, named, base)) == {
        "PATH", "LANG", "CODEX_HOME", "RUST_LOG", "OPENAI_API_KEY"
    }
    config = render_config(named)
    assert 'env_key = "OPENAI_API_KEY"' in config
    # codex keeps the key for itself: the commands it runs do not get it.
    assert '[shell_environment_policy]\nexclude = ["OPENAI_API_KEY"]' in config


def test_the_key_variable_may_not_be_one_of_our_own_credentials() -> None:
    for name in ("TEAMMESH_TOKEN", "CODEX_MANAGER_BEARER_TOKEN", "CODEX_MANAGER_RBAC_TOKEN"):
        with pytest.raises(CodexConfigError, match="teammesh's own credentials"):
            provider_options("http://127.0.0.1:1", name, None)
    with pytest.raises(CodexConfigError, match="environment variable name"):
        provider_options("http://127.0.0.1:1", "KEY\nmodel = \"x\"", None)


@pytest.mark.anyio
async def test_a_codex_gateway_without_a_provider_answers_with_the_reason(
    tmp_path: Path,
) -> None:
    settings = RuntimeSettings(data_dir=tmp_path / "gw")
    ceiling = SessionCeiling(cwd_roots=(str(tmp_path),))  # the session's cwd is admitted
    async with (
        start_gateway(data_dir=tmp_path / "gw", runtime="codex", settings=settings,
                      ceiling=ceiling) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http,
    ):
        response = await http.post("/api/sessions", json={"cwd": str(tmp_path)})
        assert response.status_code >= 400
        assert "model_base_url" in response.text
        health = (await http.get("/api/health")).json()
        assert health["codex"]["running"] is False
