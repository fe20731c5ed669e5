"""A session's state as the hub keeps it: summary fields, controls, turns and transcript.

The session id is the runtime's thread id. Everything here is plain data plus the wire
renderings (`summary()`, `thread()`); the hub mutates it and the store persists it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teammesh.gateway.runtimes.base import DynamicTool, ThreadConfig, ThreadInfo
from teammesh.gateway.transcript import Entry, Transcript

DEFAULT_TITLE = "New chat"


def runtime_tools(tools: list[dict[str, Any]]) -> list[DynamicTool]:
    """Dynamic tools as the wire (and the store) spell them, as a runtime takes them."""
    return [DynamicTool(t["name"], t["description"], t["inputSchema"]) for t in tools]


@dataclass
class Controls:
    model: str | None = None
    approval_policy: str = "untrusted"
    network_access: str = "restricted"
    filesystem_sandbox: str = "read-only"
    # The session settings namespaces (`S/settings`, gateway/session_controls.py): the
    # client's own JSON, stored and echoed, never read by the gateway.
    settings: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "approvalPolicy": self.approval_policy,
            "networkAccess": self.network_access,
            "filesystemSandbox": self.filesystem_sandbox,
            "settings": dict(self.settings),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Controls:
        return cls(
            model=data.get("model"),
            approval_policy=data.get("approvalPolicy", "untrusted"),
            network_access=data.get("networkAccess", "restricted"),
            filesystem_sandbox=data.get("filesystemSandbox", "read-only"),
            settings=dict(data.get("settings") or {}),
        )


@dataclass
class Turn:
    id: str
    status: str = "inProgress"
    items: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    started_at_ms: int = 0
    completed_at_ms: int | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "items": self.items, "error": self.error}

    def to_record(self) -> dict[str, Any]:
        return {
            **self.to_wire(),
            "startedAtMs": self.started_at_ms,
            "completedAtMs": self.completed_at_ms,
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Turn:
        return cls(
            id=data["id"],
            status=data.get("status", "inProgress"),
            items=list(data.get("items") or []),
            error=data.get("error"),
            started_at_ms=int(data.get("startedAtMs") or 0),
            completed_at_ms=data.get("completedAtMs"),
        )


@dataclass(eq=False)
class Session:
    id: str
    runtime_key: str  # the runtime spec string this session's thread lives on
    cwd: str
    model_provider: str
    created_at: int  # epoch seconds
    updated_at: int
    source: str = "appServer"
    title: str = DEFAULT_TITLE
    controls: Controls = field(default_factory=Controls)
    dynamic_tools: list[dict[str, Any]] = field(default_factory=list)
    preview: str = ""
    materialized: bool = False
    deleted_at: str | None = None
    archived: bool = False  # `S/archive`: hidden from the default session list
    project_id: str | None = None  # its project (gateway/projects.py), persisted
    turns: list[Turn] = field(default_factory=list)
    transcript: Transcript = field(default_factory=Transcript)
    # Process-local, never persisted:
    attached: bool = False  # the runtime knows this thread in this process
    starting_turn: bool = False  # a `messages` call is between its checks and turn/start
    tool_call_seq: int = 0

    @classmethod
    def on_thread(cls, info: ThreadInfo, runtime_key: str, **state: Any) -> Session:
        """A new session on the thread a runtime just started (or forked): id, cwd,
        provider, source and times are the thread's; `state` holds the rest."""
        return cls(id=info.id, runtime_key=runtime_key, cwd=info.cwd,
                   model_provider=info.model_provider, created_at=info.created_at,
                   updated_at=info.created_at, source=info.source, attached=True, **state)

    # --- turns ---------------------------------------------------------------------------

    def turn(self, turn_id: str) -> Turn | None:
        for turn in reversed(self.turns):
            if turn.id == turn_id:
                return turn
        return None

    def ensure_turn(self, turn_id: str, at_ms: int) -> Turn:
        turn = self.turn(turn_id)
        if turn is None:
            turn = Turn(id=turn_id, started_at_ms=at_ms)
            self.turns.append(turn)
        return turn

    @property
    def active_turn(self) -> Turn | None:
        for turn in reversed(self.turns):
            if turn.status == "inProgress":
                return turn
        return None

    # --- runtime view --------------------------------------------------------------------

    def thread_config(self) -> ThreadConfig:
        return ThreadConfig(
            cwd=self.cwd,
            model=self.controls.model,
            approval_policy=self.controls.approval_policy,
            sandbox=self.controls.filesystem_sandbox,
            network_access=self.controls.network_access,
            dynamic_tools=runtime_tools(self.dynamic_tools),
        )

    # --- wire renderings -----------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        return {
            "sessionId": self.id,
            "title": self.title,
            "materialized": self.materialized,
            "modelProvider": self.model_provider,
            "approvalPolicy": self.controls.approval_policy,
            "sessionControls": self.controls.to_wire(),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "cwd": self.cwd,
            "source": self.source,
            "projectId": self.project_id,
        }

    def thread(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "preview": self.preview,
            "modelProvider": self.model_provider,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "cwd": self.cwd,
            "source": self.source,
            "name": self.title,
            "turns": [t.to_wire() for t in self.turns] if self.materialized else [],
        }

    def deleted_payload(self) -> dict[str, Any]:
        return {
            "status": "deleted",
            "sessionId": self.id,
            "title": self.title,
            "message": "This chat was permanently deleted and is no longer available.",
            "deletedAt": self.deleted_at,
            "archived": self.archived,
        }

    def signal_session(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "projectId": self.project_id}

    # --- persistence record (everything but turns and transcript) ------------------------

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "runtimeKey": self.runtime_key,
            "cwd": self.cwd,
            "modelProvider": self.model_provider,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "source": self.source,
            "title": self.title,
            "controls": self.controls.to_wire(),
            "dynamicTools": self.dynamic_tools,
            "preview": self.preview,
            "materialized": self.materialized,
            "deletedAt": self.deleted_at,
            "archived": self.archived,
            "projectId": self.project_id,
        }

    @classmethod
    def from_record(
        cls, data: dict[str, Any], turns: list[Turn], entries: list[tuple[int, Entry]]
    ) -> Session:
        return cls(
            id=data["id"],
            runtime_key=data["runtimeKey"],
            cwd=data["cwd"],
            model_provider=data["modelProvider"],
            created_at=int(data["createdAt"]),
            updated_at=int(data["updatedAt"]),
            source=data.get("source", "appServer"),
            title=data.get("title", DEFAULT_TITLE),
            controls=Controls.from_wire(data.get("controls") or {}),
            dynamic_tools=list(data.get("dynamicTools") or []),
            preview=data.get("preview", ""),
            materialized=bool(data.get("materialized")),
            deleted_at=data.get("deletedAt"),
            archived=bool(data.get("archived")),
            project_id=data.get("projectId"),
            turns=turns,
            transcript=Transcript(entries),
        )
