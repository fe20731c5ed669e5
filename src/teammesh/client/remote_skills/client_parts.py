"""What remote skills use of the client: three of its parts, as a Protocol.

A skill session lists and answers tool calls (`sessions`, `tool_calls`) and waits on turns
(`turns`). Naming the whole `AsyncCodexManager` for that made `client.py` and the remote
skills import each other (a type-only cycle); this protocol names only the three parts, so
the client depends on remote skills and never the other way round. Any object with these
three attributes (the client, or a test's own) will do.
"""

from __future__ import annotations

from typing import Protocol

from teammesh.client.api import SessionsApi, ToolCallsApi
from teammesh.client.turns import TurnTracker


class SkillClient(Protocol):
    @property
    def sessions(self) -> SessionsApi: ...

    @property
    def tool_calls(self) -> ToolCallsApi: ...

    @property
    def turns(self) -> TurnTracker: ...
