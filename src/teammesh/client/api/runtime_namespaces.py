"""The runtime pass-through namespaces: `models`, `apps`, `skills`, `mcp`, `account`,
`config`, `runtime`, `feedback` (routes §4: one app-server call each).

Most allow 501, so a runtime without the app-server method answers
`{"status":"error","code":"method_not_supported",…}` as data instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from teammesh.client.api._base import DomainApi, omit_none

MergeStrategy = Literal["replace", "upsert"]


class ModelsApi(DomainApi):
    def list(self, *, cursor: str | None = None, limit: int | None = None) -> Any:
        return self._op("models.list", query={"cursor": cursor, "limit": limit})


class AppsApi(DomainApi):
    def list(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        thread_id: str | None = None,
        force_refetch: bool | None = None,
    ) -> Any:
        query = {"cursor": cursor, "limit": limit, "threadId": thread_id,
                 "forceRefetch": force_refetch}
        return self._op("apps.list", query=query)


class SkillsApi(DomainApi):
    def list(self, *, force_reload: bool | None = None, cwd: str | None = None) -> Any:
        return self._op("skills.list", query={"forceReload": force_reload, "cwd": cwd})

    def set_config(self, *, path: str, enabled: bool) -> Any:
        return self._op("skills.config.set", json_body={"path": path, "enabled": enabled})

    def remote_get(self) -> Any:
        return self._op("skills.remote.get")

    def remote_set(self, *, hazelnut_id: str, is_preload: bool) -> Any:
        body = {"hazelnutId": hazelnut_id, "isPreload": is_preload}
        return self._op("skills.remote.set", json_body=body)


class McpApi(DomainApi):
    def servers(self, *, cursor: str | None = None, limit: int | None = None) -> Any:
        return self._op("mcp.servers.list", query={"cursor": cursor, "limit": limit})

    def reload(self) -> Any:
        return self._op("mcp.reload")

    def oauth_login(
        self,
        *,
        server_name: str,
        scopes: Sequence[str] | None = None,
        timeout_secs: int | None = None,
    ) -> Any:
        body = omit_none(scopes=None if scopes is None else list(scopes),
                         timeoutSecs=timeout_secs)
        return self._op("mcp.oauth.login", params={"serverName": server_name}, json_body=body)


class AccountApi(DomainApi):
    def get(self) -> Any:
        return self._op("account.get")

    def login_start(self, payload: Mapping[str, Any]) -> Any:
        return self._op("account.login.start", json_body=dict(payload))

    def login_start_api_key(self, api_key: str) -> Any:
        return self.login_start({"type": "apiKey", "apiKey": api_key})

    def login_start_chatgpt(self) -> Any:
        return self.login_start({"type": "chatgpt"})

    def login_start_chatgpt_auth_tokens(
        self,
        *,
        access_token: str,
        chatgpt_account_id: str,
        chatgpt_plan_type: str | None = None,
    ) -> Any:
        return self.login_start(
            omit_none(type="chatgptAuthTokens", accessToken=access_token,
                      chatgptAccountId=chatgpt_account_id, chatgptPlanType=chatgpt_plan_type)
        )

    def login_cancel(self, *, login_id: str) -> Any:
        return self._op("account.login.cancel", json_body={"loginId": login_id})

    def logout(self) -> Any:
        # `{}`, not no body: upstream rejects a JSON content type with an empty body.
        return self._op("account.logout", json_body={})

    def rate_limits(self) -> Any:
        return self._op("account.rate_limits")


class ConfigApi(DomainApi):
    def get(self, *, cwd: str | None = None, include_layers: bool | None = None) -> Any:
        return self._op("config.get", query={"cwd": cwd, "includeLayers": include_layers})

    def requirements(self) -> Any:
        return self._op("config.requirements")

    def set(
        self,
        *,
        key_path: str,
        merge_strategy: MergeStrategy,
        value: Any,
        expected_version: str | None = None,
        file_path: str | None = None,
    ) -> Any:
        body = {"keyPath": key_path, "mergeStrategy": merge_strategy, "value": value}
        body |= omit_none(expectedVersion=expected_version, filePath=file_path)
        return self._op("config.set", json_body=body)

    def batch_set(
        self,
        *,
        edits: Sequence[Mapping[str, Any]],
        expected_version: str | None = None,
        file_path: str | None = None,
    ) -> Any:
        body: dict[str, Any] = {"edits": [dict(edit) for edit in edits]}
        body |= omit_none(expectedVersion=expected_version, filePath=file_path)
        return self._op("config.batch_set", json_body=body)


class RuntimeApi(DomainApi):
    def exec(
        self, *, command: Sequence[str], cwd: str | None = None, timeout_ms: int | None = None
    ) -> Any:
        body = {"command": list(command)} | omit_none(cwd=cwd, timeoutMs=timeout_ms)
        return self._op("runtime.exec", json_body=body)


class FeedbackApi(DomainApi):
    def submit(
        self,
        *,
        classification: str,
        include_logs: bool,
        reason: str | None = None,
        thread_id: str | None = None,
    ) -> Any:
        body = {"classification": classification, "includeLogs": include_logs}
        body |= omit_none(reason=reason, threadId=thread_id)
        return self._op("feedback.submit", json_body=body)
