"""`cm.session(id)`: the session routes with the id already bound."""

from __future__ import annotations

from typing import Any

from teammesh.client.api.sessions import SessionsApi


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


class SessionScope:
    def __init__(self, sessions: SessionsApi, session_id: str) -> None:
        self.session_id = session_id
        self._sessions = sessions
        self.messages = _MessagesScope(sessions, session_id)
        self.approvals = _ListScope(sessions, session_id, "approvals")
        self.tool_calls = _ListScope(sessions, session_id, "tool_calls")
        self.tool_input = _ListScope(sessions, session_id, "tool_input")

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

    def send(self, text: str, **kwargs: Any) -> Any:
        return self._sessions.send_message(self.session_id, text, **kwargs)

    def interrupt(self) -> Any:
        # Upstream's scope has no turn id: it always interrupts "the active turn".
        return self._sessions.interrupt(self.session_id)
