"""`cm.remote_skills`: create sessions with their skills, bind handles, re-attach handlers to
an existing session (after a restart), clean up."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from teammesh.client._bridge import LoopThread
from teammesh.client._twin import Twin, blocking, same
from teammesh.client.deprecation import ignored_option
from teammesh.client.errors import GoneError, RequestDetails
from teammesh.client.remote_skills.client_parts import SkillClient
from teammesh.client.remote_skills.models import RemoteSkillLifecycle
from teammesh.client.remote_skills.registry import CATALOG_LOCKED_ERROR, SkillRegistry
from teammesh.client.remote_skills.session import AsyncRemoteSkillSession, RemoteSkillSession

DRAFT_SESSION_ID = "draft"


def _session_id_of(created: Any) -> str:
    session = created.get("session") if isinstance(created, dict) else None
    session_id = session.get("sessionId") if isinstance(session, dict) else None
    if not isinstance(session_id, str) or not session_id.strip():
        raise ValueError("sessions.create response missing session.sessionId")
    return session_id


def _deleted(response: Any) -> bool:
    return isinstance(response, dict) and response.get("status") in ("ok", "deleted")


def _check_attachable(session_id: str, detail: Any) -> None:
    """`sessions.get` answers a deleted session with its 410 body rather than raising."""
    if isinstance(detail, dict) and detail.get("status") == "deleted":
        raise GoneError(
            f"session {session_id} was deleted; its handlers cannot be attached",
            RequestDetails("remote_skills.attach_session", "GET",
                           f"/sessions/{session_id}", 410, detail),
        )


class AsyncRemoteSkillsFacade:
    def __init__(self, client: SkillClient, *, threaded_handlers: bool = False) -> None:
        self.client = client
        self.threaded_handlers = threaded_handlers
        self._registries: dict[str, SkillRegistry] = {}

    def _registry(self, session_id: str) -> SkillRegistry:
        registry = self._registries.get(session_id)
        if registry is None:
            registry = SkillRegistry(locked=True, threaded_handlers=self.threaded_handlers)
            self._registries[session_id] = registry
        registry.catalog_locked = True
        return registry

    def session(self, session_id: str) -> AsyncRemoteSkillSession:
        """A handle on an existing session; every handle of one id shares one registry (one
        catalog, one dispatcher)."""
        return AsyncRemoteSkillSession(
            client=self.client, session_id=session_id, registry=self._registry(session_id)
        )

    def new_draft(self) -> AsyncRemoteSkillSession:
        registry = SkillRegistry(locked=False, threaded_handlers=self.threaded_handlers)
        return AsyncRemoteSkillSession(
            client=self.client, session_id=DRAFT_SESSION_ID, registry=registry
        )

    async def create_from_draft(
        self, draft: AsyncRemoteSkillSession, **create_kwargs: Any
    ) -> tuple[Any, AsyncRemoteSkillSession]:
        tools = draft.dynamic_tools()
        if tools and create_kwargs.get("dynamic_tools") is None:
            create_kwargs["dynamic_tools"] = tools
        created = await self.client.sessions.create(**create_kwargs)
        return created, self.bind_draft(_session_id_of(created), draft)

    async def create_session(
        self,
        *,
        register: Callable[[AsyncRemoteSkillSession], Any] | None = None,
        **create_kwargs: Any,
    ) -> tuple[Any, AsyncRemoteSkillSession]:
        draft = self.new_draft()
        if register is not None:
            result = register(draft)
            if inspect.isawaitable(result):
                await result
        return await self.create_from_draft(draft, **create_kwargs)

    def bind_draft(
        self, session_id: str, draft: AsyncRemoteSkillSession
    ) -> AsyncRemoteSkillSession:
        """The bound handle of `session_id`, its catalog replaced by the draft's skills."""
        bound = self.session(session_id)
        bound.registry.skills = dict(draft.registry.skills)
        bound.registry.catalog_locked = True
        return bound

    async def attach_session(
        self,
        session_id: str,
        *,
        register: Callable[[AsyncRemoteSkillSession], Any] | None = None,
    ) -> AsyncRemoteSkillSession:
        """Bind handlers to a session that already exists, e.g. after the program that
        created it restarted: `register` fills a draft as for `create_session`, and the
        draft's skills become the session's handlers (replacing any bound before).

        Nothing is sent to the session: its dynamic tools were fixed when it was created
        (the only time the gateway accepts them), so register the same skills it was
        created with; a skill the session does not list is never called. Raises
        `NotFoundError` for an unknown session and `GoneError` for a deleted one."""
        detail = await self.client.sessions.get(session_id)
        _check_attachable(session_id, detail)
        draft = self.new_draft()
        if register is not None:
            result = register(draft)
            if inspect.isawaitable(result):
                await result
        return self.bind_draft(session_id, draft)

    async def close_session(
        self,
        session_id: str,
        *,
        delete_session: bool = False,
        sync_runtime_on_cleanup: bool = True,
        ignore_cleanup_errors: bool = True,
    ) -> dict[str, Any]:
        ignored_option(
            "sync_runtime_on_cleanup",
            sync_runtime_on_cleanup,
            True,
            "the runtime sync was removed; nothing is synced on cleanup",
        )
        registry = self._registries.get(session_id) or SkillRegistry(locked=True)
        cleared = len(registry.skills)
        registry.skills.clear()
        outcome: dict[str, Any] = {"sessionId": session_id, "cleared": cleared, "deleted": False}
        try:
            if delete_session:
                response = await self.client.sessions.delete(session_id)
                outcome["deleted"] = _deleted(response)
                outcome["deleteResponse"] = response
        except Exception:
            if not ignore_cleanup_errors:
                raise
        finally:
            self._registries.pop(session_id, None)
        return outcome

    # Both facades' `lifecycle` take these keywords; `register` gets the handle of their kind.
    @asynccontextmanager
    async def lifecycle(
        self, *, register: Callable[[AsyncRemoteSkillSession], Any] | None = None,
        keep_session: bool = False, sync_runtime_on_cleanup: bool = True,
        ignore_cleanup_errors: bool = True, **create_kwargs: Any,
    ) -> AsyncIterator[RemoteSkillLifecycle]:
        created, skills = await self.create_session(register=register, **create_kwargs)
        cleanup = (keep_session, sync_runtime_on_cleanup, ignore_cleanup_errors)
        async with self._closing(created, skills, *cleanup) as life:
            yield life

    @asynccontextmanager
    async def _closing(
        self,
        created: Any,
        skills: Any,
        keep_session: bool,
        sync_runtime_on_cleanup: bool,
        ignore_cleanup_errors: bool,
    ) -> AsyncIterator[RemoteSkillLifecycle]:
        """The created session and its skills handle for the block, the session closed after
        it (deleted unless kept): the cleanup both `lifecycle`s share."""
        try:
            yield RemoteSkillLifecycle(session_id=skills.session_id, created=created, skills=skills)
        finally:
            await self.close_session(
                skills.session_id,
                delete_session=not keep_session,
                sync_runtime_on_cleanup=sync_runtime_on_cleanup,
                ignore_cleanup_errors=ignore_cleanup_errors,
            )

    def using(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(CATALOG_LOCKED_ERROR)


class RemoteSkillsFacade(Twin[AsyncRemoteSkillsFacade]):
    """The sync twin. `register` callbacks run in the calling thread and must be sync."""

    def __init__(self, inner: AsyncRemoteSkillsFacade, bridge: LoopThread) -> None:
        super().__init__(inner, bridge)
        inner.threaded_handlers = True

    def session(self, session_id: str) -> RemoteSkillSession:
        return RemoteSkillSession(self.inner.session(session_id), self._bridge)

    # The draft steps take and give sync handles (each wraps the async one).
    def new_draft(self) -> RemoteSkillSession:
        return RemoteSkillSession(self.inner.new_draft(), self._bridge)

    def bind_draft(self, session_id: str, draft: RemoteSkillSession) -> RemoteSkillSession:
        return RemoteSkillSession(self.inner.bind_draft(session_id, draft.inner), self._bridge)

    def create_from_draft(
        self, draft: RemoteSkillSession, **create_kwargs: Any
    ) -> tuple[Any, RemoteSkillSession]:
        created, bound = self._bridge.run(
            self.inner.create_from_draft(draft.inner, **create_kwargs)
        )
        return created, RemoteSkillSession(bound, self._bridge)

    # `create_session`, `attach_session` and `lifecycle` are written out: their `register`
    # callback takes the sync handle and runs in the caller's thread.
    def create_session(
        self, *, register: Callable[[RemoteSkillSession], Any] | None = None, **create_kwargs: Any
    ) -> tuple[Any, RemoteSkillSession]:
        draft = self.new_draft()
        self._run_register(register, draft, "create_session")
        return self.create_from_draft(draft, **create_kwargs)

    def attach_session(
        self, session_id: str, *, register: Callable[[RemoteSkillSession], Any] | None = None
    ) -> RemoteSkillSession:
        """The sync twin of `AsyncRemoteSkillsFacade.attach_session`; `register` must be
        sync."""
        detail = self._bridge.run(self.inner.client.sessions.get(session_id))
        _check_attachable(session_id, detail)
        draft = self.new_draft()
        self._run_register(register, draft, "attach_session")
        return self.bind_draft(session_id, draft)

    def _run_register(
        self,
        register: Callable[[RemoteSkillSession], Any] | None,
        draft: RemoteSkillSession,
        operation: str,
    ) -> None:
        """Let the caller's `register` callback fill the draft catalog. The sync facade never
        awaits it, so an async callback is refused (its coroutine closed, not leaked)."""
        if register is None:
            return
        result = register(draft)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise TypeError(
                f"remote_skills.{operation} register callback must be sync; "
                "use AsyncCodexManager"
            )

    close_session = blocking(AsyncRemoteSkillsFacade.close_session)
    using = same(AsyncRemoteSkillsFacade.using)

    @contextmanager
    def lifecycle(
        self, *, register: Callable[[RemoteSkillSession], Any] | None = None,
        keep_session: bool = False, sync_runtime_on_cleanup: bool = True,
        ignore_cleanup_errors: bool = True, **create_kwargs: Any,
    ) -> Iterator[RemoteSkillLifecycle]:
        created, skills = self.create_session(register=register, **create_kwargs)
        cleanup = (keep_session, sync_runtime_on_cleanup, ignore_cleanup_errors)
        with self._bridge.blocking(self.inner._closing(created, skills, *cleanup)) as life:
            yield life
