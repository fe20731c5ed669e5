"""`cm.sessions`: routes under `/sessions`, with upstream's per-operation allow-lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from teammesh.client.api._base import DomainApi, omit_none, seg, tool_list
from teammesh.wire import ApprovalPolicy, Effort, FilesystemSandbox, NetworkAccess


def _settings_body(
    approval_policy: ApprovalPolicy | None,
    network_access: NetworkAccess | None,
    filesystem_sandbox: FilesystemSandbox | None,
    dynamic_tools: Sequence[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """The per-session settings a create and a message both carry, in wire names."""
    return omit_none(
        approvalPolicy=approval_policy,
        networkAccess=network_access,
        filesystemSandbox=filesystem_sandbox,
        dynamicTools=tool_list(dynamic_tools),
    )


class SessionsApi(DomainApi):
    def list(
        self,
        *,
        archived: bool | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        include_system_owned: bool | None = None,
    ) -> Any:
        return self._request(
            "sessions.list",
            "GET",
            "/sessions",
            query={
                "archived": archived,
                "cursor": cursor,
                "limit": limit,
                "includeSystemOwned": include_system_owned,
            },
        )

    def create(
        self,
        *,
        cwd: str | None = None,
        model: str | None = None,
        approval_policy: ApprovalPolicy | None = None,
        network_access: NetworkAccess | None = None,
        filesystem_sandbox: FilesystemSandbox | None = None,
        dynamic_tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> Any:
        body = omit_none(cwd=cwd, model=model) | _settings_body(
            approval_policy, network_access, filesystem_sandbox, dynamic_tools
        )
        return self._request("sessions.create", "POST", "/sessions", json_body=body)

    def get(self, session_id: str) -> Any:
        return self._request(
            "sessions.get", "GET", f"/sessions/{seg(session_id)}", allow_statuses=(410,)
        )

    def rename(self, session_id: str, title: str) -> Any:
        return self._request(
            "sessions.rename",
            "POST",
            f"/sessions/{seg(session_id)}/rename",
            json_body={"title": title},
        )

    def delete(self, session_id: str) -> Any:
        return self._request(
            "sessions.delete",
            "DELETE",
            f"/sessions/{seg(session_id)}",
            allow_statuses=(404, 410),
        )

    def archive(self, session_id: str) -> Any:
        return self._request("sessions.archive", "POST", f"/sessions/{seg(session_id)}/archive")

    def unarchive(self, session_id: str) -> Any:
        return self._request("sessions.unarchive", "POST", f"/sessions/{seg(session_id)}/unarchive")

    def send_message(
        self,
        session_id: str,
        text: str,
        *,
        model: str | None = None,
        effort: Effort | None = None,
        approval_policy: ApprovalPolicy | None = None,
        network_access: NetworkAccess | None = None,
        filesystem_sandbox: FilesystemSandbox | None = None,
        dynamic_tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> Any:
        body = omit_none(text=text, model=model, effort=effort) | _settings_body(
            approval_policy, network_access, filesystem_sandbox, dynamic_tools
        )
        return self._request(
            "sessions.send_message",
            "POST",
            f"/sessions/{seg(session_id)}/messages",
            json_body=body,
            allow_statuses=(400, 403, 404, 410),
        )

    def interrupt(self, session_id: str, turn_id: str | None = None) -> Any:
        return self._request(
            "sessions.interrupt",
            "POST",
            f"/sessions/{seg(session_id)}/interrupt",
            json_body={"turnId": turn_id} if turn_id else {},
            allow_statuses=(403, 404, 409, 410),
        )

    def approvals(self, session_id: str) -> Any:
        return self._request(
            "sessions.approvals.list",
            "GET",
            f"/sessions/{seg(session_id)}/approvals",
            allow_statuses=(403, 410),
        )

    def tool_calls(self, session_id: str) -> Any:
        return self._request(
            "sessions.tool_calls.list",
            "GET",
            f"/sessions/{seg(session_id)}/tool-calls",
            allow_statuses=(403, 410),
        )

    def tool_input(self, session_id: str) -> Any:
        return self._request(
            "sessions.tool_input.list",
            "GET",
            f"/sessions/{seg(session_id)}/tool-input",
            allow_statuses=(403, 410),
        )
