"""What is left of codex-manager's runtime sync and dispatch modes, kept so old callers run.

Dispatch modes are gone (the websocket and polling paths may serve one session at once,
through one ledger) and so is the runtime catalog sync (a session's dynamic tools are fixed
when it is created). The calls that did nothing now say so with a `DeprecationWarning`; the
ones that cannot be honoured raise, as they did.
"""

from __future__ import annotations

from typing import Any

from teammesh.client.deprecation import deprecated_noop, ignored_option
from teammesh.client.remote_skills.registry import RUNTIME_SYNC_DISABLED_ERROR

_BOTH_PATHS = (
    "respond_to_signal and drain_pending_calls may serve one session at once; drop the call"
)
_NO_SYNC = "the runtime sync was removed: a session's tools are fixed when it is created"


def no_runtime_sync(ignore_sync_errors: bool) -> None:
    """`ignore_sync_errors` is accepted everywhere upstream had it, and does nothing."""
    ignored_option("ignore_sync_errors", ignore_sync_errors, True, _NO_SYNC)


class RetiredApi:
    """The skill handle's retired methods (a base of `AsyncRemoteSkillSession`)."""

    def dispatch_mode(self) -> str | None:
        """Always `None` (and a `DeprecationWarning`): there are no dispatch modes."""
        deprecated_noop("dispatch_mode()", _BOTH_PATHS)
        return None

    def reset_dispatch_mode(self) -> None:
        """A no-op (with a `DeprecationWarning`): both paths may serve one session at once."""
        deprecated_noop("reset_dispatch_mode()", _BOTH_PATHS)

    async def sync_runtime(self) -> Any:
        raise RuntimeError(RUNTIME_SYNC_DISABLED_ERROR)

    async def prepare_catalog(self, *, timeout_seconds: float = 90.0) -> Any:
        raise RuntimeError(RUNTIME_SYNC_DISABLED_ERROR)

    async def send_prepared(
        self,
        /,
        request_text: str,
        *,
        inject_skills: bool = True,
        prepare_timeout_seconds: float = 90.0,
        **kwargs: Any,
    ) -> Any:
        raise RuntimeError(RUNTIME_SYNC_DISABLED_ERROR)
