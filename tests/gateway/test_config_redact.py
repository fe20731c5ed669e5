"""config_redact: what `GET /api/config` may show of codex's config (names, shapes) and
what it may not (secret values, by key and by value)."""

from __future__ import annotations

import base64
import os
import re
import urllib.parse

import pytest

from teammesh.gateway.config_redact import REDACTED, known_secrets, redact_config


def test_secret_keys_and_value_maps_are_blanked_names_kept() -> None:
    config = {
        "model_providers": {"p": {
            "env_key": "OPENAI_API_KEY",  # a variable's name: kept
            "experimental_bearer_token": "tok-123",
            "http_headers": {"Authorization": "Bearer abc"},
            "env_http_headers": {"X-Key": "HEADER_ENV"},  # names of variables: kept
            "query_params": {"api-version": "v1"},
            "auth": {"command": "get-token", "args": ["--secret", "s3"]},
            "stream_idle_timeout_ms": 1000,
        }},
        "mcp_servers": {"m": {"command": "x", "env": {"PASS": "p4ss"},
                              "bearer_token_env_var": "MCP_TOKEN"}},
        "shell_environment_policy": {"set": {"DB": "pw"}, "exclude": ["K"]},
        "model_auto_compact_token_limit": 5000,
        "origins": {"model_providers.p.experimental_bearer_token": {"name": {"type": "user"}}},
    }
    out = redact_config(config)
    provider = out["model_providers"]["p"]
    assert provider["env_key"] == "OPENAI_API_KEY"
    assert provider["experimental_bearer_token"] == REDACTED
    assert provider["http_headers"] == {"Authorization": REDACTED}
    assert provider["env_http_headers"] == {"X-Key": "HEADER_ENV"}
    assert provider["query_params"] == {"api-version": REDACTED}
    assert provider["auth"] == {"command": REDACTED, "args": [REDACTED, REDACTED]}
    assert provider["stream_idle_timeout_ms"] == 1000
    assert out["mcp_servers"]["m"] == {"command": "x", "env": {"PASS": REDACTED},
                                       "bearer_token_env_var": "MCP_TOKEN"}
    assert out["shell_environment_policy"] == {"set": {"DB": REDACTED}, "exclude": ["K"]}
    assert out["model_auto_compact_token_limit"] == 5000
    assert out["origins"]["model_providers.p.experimental_bearer_token"] == {
        "name": {"type": REDACTED}}
    assert config["mcp_servers"]["m"]["env"] == {"PASS": "p4ss"}  # the input is untouched


def test_known_secret_values_are_scrubbed_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_MODEL_KEY", "sk-verysecret-42")
    monkeypatch.setenv("TEAMMESH_TOKEN", "gateway-token-77")
    monkeypatch.setenv("CODEX_MANAGER_TOKEN", "short")  # too short to scrub safely
    secrets = known_secrets("MY_MODEL_KEY")
    assert secrets == ("gateway-token-77", "sk-verysecret-42")
    out = redact_config({"notify": ["curl", "-H", "x: sk-verysecret-42"],
                         "instructions": "token gateway-token-77 here", "model": "m"},
                        secrets)
    assert out == {"notify": ["curl", "-H", REDACTED], "instructions": REDACTED,
                   "model": "m"}
    assert known_secrets(None) == ("gateway-token-77",)


def test_the_gateways_own_token_is_a_known_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # `--token` and the token file give the gateway a token the environment never held.
    for name in [n for n in os.environ if n == "TEAMMESH_TOKEN" or n.startswith("CODEX_")]:
        monkeypatch.delenv(name)
    secrets = known_secrets(None, "served-token-from-file-1234", None)
    assert secrets == ("served-token-from-file-1234",)
    out = redact_config({"instructions": "use served-token-from-file-1234"}, secrets)
    assert out == {"instructions": REDACTED}



def test_secret_options_in_argument_lists_are_blanked() -> None:
    config = {"mcp_servers": {"m": {"command": "srv", "args": [
        "--port", "8080", "--api-key=K1", "--token", "T2", "-v", "--auth-header", "H3",
        "plain", "--password"]}}}
    args = redact_config(config)["mcp_servers"]["m"]["args"]
    assert args == ["--port", "8080", f"--api-key={REDACTED}", "--token", REDACTED, "-v",
                    "--auth-header", REDACTED, "plain", "--password"]


def test_secrets_by_shape_urls_headers_assignments_and_camel_case_keys() -> None:
    config = {
        "model_providers": {"p": {
            "base_url": "https://user:hunter2pass@h/v1?api_key=K1&api-version=2",
            "baseUrl": "https://h/v1?x=1&access_token=K2#frag",
            "httpHeaders": {"X-Custom": "K3"},
            "queryParams": {"sig": "K4"},
            "envKey": "OPENAI_API_KEY",
        }},
        "mcp_servers": {"m": {
            "args": ["-H", "Authorization: Bearer K5", "--header=X-Api-Key: K6",
                     "OPENAI_API_KEY=K7", "-H", "Accept: json", "plain=1", "https://a:K8@h/"],
            "env": ["GITHUB_TOKEN=K9", "PATH=/bin"],
            "Env": {"A": "K10"},
        }},
    }
    out = redact_config(config)
    provider = out["model_providers"]["p"]
    assert provider["base_url"] == (
        f"https://user:{REDACTED}@h/v1?api_key={REDACTED}&api-version=2")
    assert provider["baseUrl"] == f"https://h/v1?x=1&access_token={REDACTED}#frag"
    assert provider["httpHeaders"] == {"X-Custom": REDACTED}
    assert provider["queryParams"] == {"sig": REDACTED}
    assert provider["envKey"] == "OPENAI_API_KEY"
    server = out["mcp_servers"]["m"]
    assert server["args"] == ["-H", f"Authorization: {REDACTED}",
                              f"--header=X-Api-Key: {REDACTED}", f"OPENAI_API_KEY={REDACTED}",
                              "-H", "Accept: json", "plain=1", f"https://a:{REDACTED}@h/"]
    assert server["env"] == [f"GITHUB_TOKEN={REDACTED}", "PATH=/bin"]
    assert server["Env"] == {"A": REDACTED}
    assert re.search(r"K\d", repr(out)) is None  # no value K1..K10 left anywhere


def test_known_secrets_are_scrubbed_encoded_and_in_keys() -> None:
    secret = "sk-verysecret-4242"
    encoded = [base64.b64encode(f"{prefix}:{secret}!".encode()).decode()
               for prefix in ("u", "uu", "uuu")]
    encoded += [base64.urlsafe_b64encode(f"{secret}?>".encode()).decode(),
                urllib.parse.quote(f"a {secret}/", safe="")]
    out = redact_config({"notify": encoded, secret: "named by the secret", "plain": "hello"},
                        [secret])
    assert out == {"notify": [REDACTED] * 5, REDACTED: REDACTED, "plain": "hello"}
