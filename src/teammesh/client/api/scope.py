"""`cm.session(id)`: the session routes with the id already bound."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from teammesh.client.api.sessions import SessionsApi
from teammesh.wire import SettingsScope


class _MessagesScope:
    def __init__(self, sessions: SessionsApi, session_id: str) -> None:
        self._sessions = sessions
        self._session_id = session_id

    def send(self, text: str, **kwargs: Any) -> Any:
        return self._sessions.send_message(self._session_id, text, **kwargs)


class _ListScope:
    def __init__(self, sessions: SessionsApi, session_id: str, kind: str) -> None:
        self._sessions = sessions
        self._session_id = session_id
        self._kind = kind

    def list(self) -> Any:
        return getattr(self._sessions, self._kind)(self._session_id)


class _ControlsScope:
    def __init__(self, sessions: SessionsApi, session_id: str) -> None:
        self._sessions = sessions
        self._session_id = session_id

    def get(self) -> Any:
        return self._sessions.controls_get(self._session_id)

    def apply(
        self,
        *,
        controls: Mapping[str, Any],
        scope: SettingsScope = "session",
        actor: str | None = None,
        source: str | None = None,
    ) -> Any:
        return self._sessions.controls_apply(
            self._session_id, controls, scope=scope, actor=actor, source=source
        )


class _SettingsScope:
    def __init__(self, sessions: SessionsApi, session_id: str) -> None:
        self._sessions = sessions
        self._session_id = session_id

    def get(self, *, scope: SettingsScope = "session", key: str | None = None) -> Any:
        return self._sessions.settings_get(self._session_id, scope=scope, key=key)

    def set(self, **kwargs: Any) -> Any:
        """`settings=` (with `mode=`) or `key=` and `value=`; `scope`, `actor`, `source`."""
        return self._sessions.settings_set(self._session_id, **kwargs)

    def unset(
        self,
        key: str,
        *,
        scope: SettingsScope = "session",
        actor: str | None = None,
        source: str | None = None,
    ) -> Any:
        return self._sessions.settings_unset(
            self._session_id, key, scope=scope, actor=actor, source=source
        )


class SessionScope:
    def __init__(self, sessions: SessionsApi, session_id: str) -> None:
        self.session_id = session_id
        self._sessions = sessions
        self.messages = _MessagesScope(sessions, session_id)
        self.approvals = _ListScope(sessions, session_id, "approvals")
        self.tool_calls = _ListScope(sessions, session_id, "tool_calls")
        self.tool_input = _ListScope(sessions, session_id, "tool_input")
        self.controls = _ControlsScope(sessions, session_id)
        self.settings = _SettingsScope(sessions, session_id)

    def get(self) -> Any:
        return self._sessions.get(self.session_id)

    def delete(self) -> Any:
        return self._sessions.delete(self.session_id)

    def rename(self, title: str) -> Any:
        return self._sessions.rename(self.session_id, title)

    def archive(self) -> Any:
        return self._sessions.archive(self.session_id)

    def unarchive(self) -> Any:
        return self._sessions.unarchive(self.session_id)

    def resume(self, dynamic_tools: Sequence[Mapping[str, Any]] | None = None) -> Any:
        return self._sessions.resume(self.session_id, dynamic_tools)

    def send(self, text: str, **kwargs: Any) -> Any:
        return self._sessions.send_message(self.session_id, text, **kwargs)

    def interrupt(self) -> Any:
        # Upstream's scope has no turn id: it always interrupts "the active turn".
        return self._sessions.interrupt(self.session_id)
