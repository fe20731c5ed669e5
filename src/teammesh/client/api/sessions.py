"""`cm.sessions`: the core session routes (create, read, turns, pending requests).

The other session operations (thread actions, controls, settings, suggested requests,
transcript rows) are in `session_actions.py`; `SessionsApi` has both. Every call goes
through `DomainApi._op`, so its route and allow-list come from `client/operations.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from teammesh.client.api._base import omit_none, tool_list
from teammesh.client.api.session_actions import SessionActions
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


class SessionsApi(SessionActions):
    def list(
        self,
        *,
        archived: bool | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        include_system_owned: bool | None = None,
    ) -> Any:
        query = {
            "archived": archived,
            "cursor": cursor,
            "limit": limit,
            "includeSystemOwned": include_system_owned,
        }
        return self._op("sessions.list", query=query)

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
        return self._op("sessions.create", json_body=body)

    def get(self, session_id: str) -> Any:
        return self._op("sessions.get", params={"sessionId": session_id})

    def rename(self, session_id: str, title: str) -> Any:
        return self._op(
            "sessions.rename", params={"sessionId": session_id}, json_body={"title": title}
        )

    def delete(self, session_id: str) -> Any:
        return self._op("sessions.delete", params={"sessionId": session_id})

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
        return self._op(
            "sessions.send_message", params={"sessionId": session_id}, json_body=body
        )

    def interrupt(self, session_id: str, turn_id: str | None = None) -> Any:
        return self._op(
            "sessions.interrupt",
            params={"sessionId": session_id},
            json_body={"turnId": turn_id} if turn_id else {},
        )

    def approvals(self, session_id: str) -> Any:
        return self._op("sessions.approvals.list", params={"sessionId": session_id})

    def tool_calls(self, session_id: str) -> Any:
        return self._op("sessions.tool_calls.list", params={"sessionId": session_id})

    def tool_input(self, session_id: str) -> Any:
        return self._op("sessions.tool_input.list", params={"sessionId": session_id})
