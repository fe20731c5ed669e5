"""Session operations beyond the core turn loop, with codex-manager's method names.

Thread actions (`fork`, `compact`, `rollback`, `clean_background_terminals`, `review`,
`steer`, `archive`, `unarchive`, `resume`), the project assignment, the stored controls,
settings and approval policy, suggested requests and supplemental transcript rows. Bodies
omit `None` values, except where the key itself carries meaning (`projectId: null`
unassigns). Statuses in an operation's allow-list (`client/operations.py`) come back as
data, e.g. a 501 `method_not_supported` from `fork` on a runtime without `thread/fork`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from teammesh.client.api._base import DomainApi, omit_none, tool_list
from teammesh.wire import ApprovalPolicy, Effort, SettingsScope, TranscriptRole, TranscriptStatus

ReviewDelivery = Literal["inline", "detached"]
ReviewTarget = Literal["uncommittedChanges", "baseBranch", "commit", "custom"]
SuggestionStatus = Literal["streaming", "complete", "error", "canceled"]


class SessionActions(DomainApi):
    def _session(self, name: str, session_id: str, **kwargs: Any) -> Any:
        return self._op(name, params={"sessionId": session_id}, **kwargs)

    # --- thread actions ---------------------------------------------------------------
    def fork(self, session_id: str) -> Any:
        return self._session("sessions.fork", session_id)

    def compact(self, session_id: str) -> Any:
        return self._session("sessions.compact", session_id)

    def rollback(self, session_id: str, num_turns: int = 1) -> Any:
        return self._session("sessions.rollback", session_id, json_body={"numTurns": num_turns})

    def clean_background_terminals(self, session_id: str) -> Any:
        return self._session("sessions.background_terminals.clean", session_id)

    def review(
        self,
        session_id: str,
        *,
        delivery: ReviewDelivery | None = None,
        target_type: ReviewTarget | None = None,
        branch: str | None = None,
        sha: str | None = None,
        title: str | None = None,
        instructions: str | None = None,
    ) -> Any:
        body = omit_none(delivery=delivery, targetType=target_type, branch=branch, sha=sha,
                         title=title, instructions=instructions)
        return self._session("sessions.review", session_id, json_body=body)

    def steer(self, session_id: str, turn_id: str, input_text: str) -> Any:
        return self._op(
            "sessions.steer",
            params={"sessionId": session_id, "turnId": turn_id},
            json_body={"input": input_text},
        )

    def archive(self, session_id: str) -> Any:
        return self._session("sessions.archive", session_id)

    def unarchive(self, session_id: str) -> Any:
        return self._session("sessions.unarchive", session_id)

    def resume(
        self, session_id: str, dynamic_tools: Sequence[Mapping[str, Any]] | None = None
    ) -> Any:
        body = omit_none(dynamicTools=tool_list(dynamic_tools))
        return self._session("sessions.resume", session_id, json_body=body)

    def set_project(self, session_id: str, project_id: str | None) -> Any:
        # `projectId: null` is meaningful (unassign), so it is sent, not omitted.
        return self._session(
            "sessions.project.set", session_id, json_body={"projectId": project_id}
        )

    # --- stored controls, settings, approval policy -------------------------------------
    def controls_get(self, session_id: str) -> Any:
        return self._session("sessions.controls.get", session_id)

    def controls_apply(
        self,
        session_id: str,
        controls: Mapping[str, Any],
        *,
        scope: SettingsScope = "session",
        actor: str | None = None,
        source: str | None = None,
    ) -> Any:
        body = omit_none(scope=scope, controls=dict(controls), actor=actor, source=source)
        return self._session("sessions.controls.apply", session_id, json_body=body)

    def settings_get(
        self, session_id: str, *, scope: SettingsScope = "session", key: str | None = None
    ) -> Any:
        return self._session(
            "sessions.settings.get", session_id, query={"scope": scope, "key": key}
        )

    def settings_set(
        self,
        session_id: str,
        *,
        scope: SettingsScope = "session",
        settings: Mapping[str, Any] | None = None,
        mode: Literal["merge", "replace"] | None = "merge",
        key: str | None = None,
        value: Any = None,
        actor: str | None = None,
        source: str | None = None,
    ) -> Any:
        """Either a `settings` object (merged or replacing, by `mode`) or one `key` and its
        `value`; both or neither is a `ValueError` before anything is sent."""
        if (settings is None) == (key is None):
            raise ValueError("settings_set takes either settings or key/value, exactly one")
        body = omit_none(scope=scope, actor=actor, source=source)
        if settings is not None:
            body |= omit_none(settings=dict(settings), mode=mode)
        else:
            body |= {"key": key, "value": value}  # a null value is a value
        return self._session("sessions.settings.set", session_id, json_body=body)

    def settings_unset(
        self,
        session_id: str,
        key: str,
        *,
        scope: SettingsScope = "session",
        actor: str | None = None,
        source: str | None = None,
    ) -> Any:
        return self._op(
            "sessions.settings.unset",
            params={"sessionId": session_id, "key": key},
            query={"scope": scope, "actor": actor, "source": source},
        )

    def approval_policy(self, session_id: str, approval_policy: ApprovalPolicy) -> Any:
        return self._session(
            "sessions.approval_policy.set",
            session_id,
            json_body={"approvalPolicy": approval_policy},
        )

    # --- suggested requests and transcript rows ------------------------------------------
    def suggest_request(
        self, session_id: str, *, model: str | None = None, effort: Effort | None = None,
        draft: str | None = None,
    ) -> Any:
        return self._suggest("sessions.suggest_request", session_id, model, effort, draft)

    def suggest_request_enqueue(
        self, session_id: str, *, model: str | None = None, effort: Effort | None = None,
        draft: str | None = None,
    ) -> Any:
        return self._suggest("sessions.suggest_request.enqueue", session_id, model, effort, draft)

    def _suggest(
        self, name: str, session_id: str, model: str | None, effort: Effort | None,
        draft: str | None,
    ) -> Any:
        body = omit_none(model=model, effort=effort, draft=draft)
        return self._session(name, session_id, json_body=body)

    def suggest_request_upsert(
        self,
        session_id: str,
        *,
        request_key: str,
        status: SuggestionStatus,
        suggestion: str | None = None,
        error: str | None = None,
    ) -> Any:
        body = omit_none(requestKey=request_key, status=status, suggestion=suggestion,
                         error=error)
        return self._session("sessions.suggest_request.upsert", session_id, json_body=body)

    def transcript_upsert(
        self,
        session_id: str,
        *,
        message_id: str,
        turn_id: str,
        role: TranscriptRole,
        entry_type: str,
        content: str,
        status: TranscriptStatus,
        details: str | None = None,
        started_at: int | None = None,
        completed_at: int | None = None,
    ) -> Any:
        body = omit_none(messageId=message_id, turnId=turn_id, role=role, type=entry_type,
                         content=content, status=status, details=details,
                         startedAt=started_at, completedAt=completed_at)
        return self._session("sessions.transcript.upsert", session_id, json_body=body)
