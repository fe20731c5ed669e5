"""ClientConfig.from_env / from_profile and the validation mode: every rule of the reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teammesh.client import AsyncCodexManager, ClientConfig, CodexManager
from teammesh.client.config import default_profile_path, resolve_validation_mode


def test_from_env_defaults_when_nothing_is_set() -> None:
    config = ClientConfig.from_env({})
    assert config == ClientConfig("http://127.0.0.1:3001", "/api", 30.0, {})


def test_from_env_reads_every_variable() -> None:
    config = ClientConfig.from_env(
        {
            "CODEX_MANAGER_API_BASE": "  http://10.0.0.5:9000 ",
            "CODEX_MANAGER_API_PREFIX": " v2 ",
            "CODEX_MANAGER_TIMEOUT_MS": "2500",
            "CODEX_MANAGER_BEARER_TOKEN": " tok ",
            "CODEX_MANAGER_RBAC_TOKEN": "rbac",
            "CODEX_MANAGER_RBAC_ROLE": "admin",
            "CODEX_MANAGER_RBAC_ACTOR": "alice",
        }
    )
    assert config.base_url == "http://10.0.0.5:9000"
    assert config.api_prefix == "/v2"
    assert config.timeout_seconds == 2.5
    assert config.headers == {
        "Authorization": "Bearer tok",
        "x-codex-rbac-token": "rbac",
        "x-codex-rbac-role": "admin",
        "x-codex-rbac-actor": "alice",
    }


@pytest.mark.parametrize("raw", ["", "  ", "abc", "0", "-5", "1.5"])
def test_from_env_bad_timeout_falls_back(raw: str) -> None:
    assert ClientConfig.from_env({"CODEX_MANAGER_TIMEOUT_MS": raw}).timeout_seconds == 30.0


def test_from_env_blank_values_add_nothing() -> None:
    config = ClientConfig.from_env(
        {
            "CODEX_MANAGER_API_BASE": " ",
            "CODEX_MANAGER_API_PREFIX": " ",
            "CODEX_MANAGER_BEARER_TOKEN": " ",
            "CODEX_MANAGER_RBAC_ROLE": "",
        }
    )
    assert config == ClientConfig()


def test_client_from_env_uses_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_MANAGER_API_BASE", "http://127.0.0.1:4555")
    monkeypatch.setenv("CODEX_MANAGER_API_PREFIX", "gw")
    monkeypatch.setenv("CODEX_MANAGER_BEARER_TOKEN", "secret")
    with CodexManager.from_env() as cm:
        assert cm.client_config.base_url == "http://127.0.0.1:4555"
        assert cm.client_config.api_prefix == "/gw"
        assert cm.client_config.headers["Authorization"] == "Bearer secret"
        assert cm.stream.url("t1") == "ws://127.0.0.1:4555/gw/stream?threadId=t1"


def _write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_from_profile_missing_or_broken_file_gives_defaults(tmp_path: Path) -> None:
    assert ClientConfig.from_profile(config_path=tmp_path / "none.json") == ClientConfig()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert ClientConfig.from_profile("x", config_path=broken) == ClientConfig()
    listing = _write(tmp_path / "list.json", [1, 2])
    assert ClientConfig.from_profile(config_path=listing) == ClientConfig()


def test_from_profile_reads_selected_profile(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.json",
        {
            "currentProfile": "lab",
            "profiles": {
                "local": {"baseUrl": "http://127.0.0.1:1111"},
                "lab": {
                    "baseUrl": "http://127.0.0.1:2222",
                    "apiPrefix": "x",
                    "timeoutMs": "1500",
                    "headers": {" X-Pad ": " v ", "blank": " ", "n": 3},
                    "auth": {"bearer": "b", "rbacToken": "t", "role": "r", "actor": "a"},
                },
            },
        },
    )
    config = ClientConfig.from_profile(config_path=path)
    assert config.base_url == "http://127.0.0.1:2222"
    assert config.api_prefix == "/x"
    assert config.timeout_seconds == 1.5
    assert config.headers == {
        " X-Pad ": " v ",  # copied unstripped
        "Authorization": "Bearer b",
        "x-codex-rbac-token": "t",
        "x-codex-rbac-role": "r",
        "x-codex-rbac-actor": "a",
    }
    # An explicit name wins over currentProfile; an unknown one falls back to "local".
    assert ClientConfig.from_profile("local", config_path=path).base_url.endswith(":1111")
    assert ClientConfig.from_profile("nope", config_path=path).base_url.endswith(":1111")


def test_from_profile_auth_wins_over_headers_and_bools_are_not_timeouts(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.json",
        {
            "profiles": {
                "local": {
                    "timeoutMs": True,
                    "headers": {"Authorization": "Basic zzz"},
                    "auth": {"bearer": "tok"},
                }
            }
        },
    )
    config = ClientConfig.from_profile(config_path=path)
    assert config.timeout_seconds == 30.0
    assert config.headers == {"Authorization": "Bearer tok"}


def test_profile_path_follows_xdg(tmp_path: Path) -> None:
    assert default_profile_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "codex-manager" / "cli" / "config.json"
    )
    assert default_profile_path({}).parts[-4:] == (".config", "codex-manager", "cli", "config.json")


def test_client_from_profile_reads_xdg_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(
        tmp_path / "codex-manager" / "cli" / "config.json",
        {"profiles": {"local": {"baseUrl": "http://127.0.0.1:7777", "timeoutMs": 900}}},
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    cm = AsyncCodexManager.from_profile("local")
    assert cm.client_config.base_url == "http://127.0.0.1:7777"
    assert cm.client_config.timeout_seconds == 0.9


def test_validation_mode() -> None:
    assert resolve_validation_mode(None, {}) == "typed-only"
    assert resolve_validation_mode(None, {"CODEX_MANAGER_PY_VALIDATION_MODE": " STRICT "}) == (
        "strict"
    )
    assert resolve_validation_mode("off", {"CODEX_MANAGER_PY_VALIDATION_MODE": "strict"}) == "off"
    with pytest.raises(ValueError, match="invalid validation mode"):
        resolve_validation_mode("loose", {})
    with pytest.raises(ValueError):
        AsyncCodexManager(validation_mode="bogus")


# --- token discovery (ours): one order for the client, the mesh and `--api-base` ----------


def test_token_discovery_order(tmp_path: Path) -> None:
    from teammesh.client.token_discovery import discover_token

    token_file = tmp_path / "token"
    token_file.write_text("  from-file\n", encoding="utf-8")
    everything = {
        "CODEX_MANAGER_BEARER_TOKEN": "cm",
        "TEAMMESH_TOKEN": "tm",
        "TEAMMESH_TOKEN_FILE": str(token_file),
    }
    assert discover_token(everything) == "cm"  # codex-manager's own variable first
    assert discover_token({**everything, "CODEX_MANAGER_BEARER_TOKEN": " "}) == "tm"
    assert discover_token({"TEAMMESH_TOKEN": "", "TEAMMESH_TOKEN_FILE": str(token_file)}) == (
        "from-file"
    )
    assert discover_token({}) is None
    # The default `teammesh serve` token file is never picked up implicitly.
    assert discover_token({"CODEX_MANAGER_API_BASE": "http://127.0.0.1:3001"}) is None
    config = ClientConfig.from_env({"TEAMMESH_TOKEN_FILE": str(token_file)})
    assert config.headers == {"Authorization": "Bearer from-file"}


@pytest.mark.parametrize("content", [None, "", "   \n", "two tokens\n", "x" * 5000])
def test_a_named_token_file_that_holds_no_token_is_an_error(
    tmp_path: Path, content: str | None
) -> None:
    from teammesh.client.token_discovery import TokenFileError

    path = tmp_path / "token"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(TokenFileError, match="TEAMMESH_TOKEN_FILE") as raised:
        ClientConfig.from_env({"TEAMMESH_TOKEN_FILE": str(path)})
    assert "two" not in str(raised.value)  # the file's content is never echoed
