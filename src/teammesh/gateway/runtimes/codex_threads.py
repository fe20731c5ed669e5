"""The codex runtime's threads: what it keeps per thread, and the two ids each one has.

A thread is known to the hub by its public id and to app-server by its codex id. The two are
the same except for a thread re-created after a restart (it had no rollout to resume), whose
new codex id is mapped back to the public one on disk (`codex_thread_map`). This table is the
one place that pairing is kept, so the runtime never has to update two dicts in step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from teammesh.gateway.runtimes.base import JsonObject, RuntimeFailure, ThreadConfig, ThreadInfo
from teammesh.gateway.runtimes.codex_mapping import approval_policy, dynamic_tools
from teammesh.gateway.runtimes.codex_thread_map import ThreadIdMap

INTERNAL_ERROR = -32603
INVALID_REQUEST = -32600


class Controls(Protocol):
    """The session controls a new thread takes over (a `ThreadConfig`, or a fork's source)."""

    approval_policy: str
    sandbox: str
    network_access: str


@dataclass
class CodexThread:
    public_id: str
    codex_id: str
    config: ThreadConfig
    # The session controls in force; `turn/start` overrides persist, as upstream.
    approval_policy: str
    sandbox: str
    network_access: str
    # The app-server generation the thread is loaded in (0: not loaded in any).
    generation: int
    load_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def under(cls, public_id: str, codex_id: str, config: ThreadConfig, controls: Controls,
              generation: int) -> CodexThread:
        return cls(public_id=public_id, codex_id=codex_id, config=config,
                   approval_policy=controls.approval_policy, sandbox=controls.sandbox,
                   network_access=controls.network_access, generation=generation)

    def take_controls(self, controls: Controls) -> None:
        self.approval_policy = controls.approval_policy
        self.sandbox = controls.sandbox
        self.network_access = controls.network_access


class CodexThreads:
    """Every thread the runtime knows, by public id and by codex id."""

    def __init__(self, id_map_path: Path) -> None:
        self._by_public: dict[str, CodexThread] = {}
        self._by_codex: dict[str, CodexThread] = {}
        self._id_map = ThreadIdMap(id_map_path)
        # codex id → public id of every re-created thread: what notifications are rewritten by.
        self.public_id_of: dict[str, str] = self._id_map.public_ids()

    def get(self, public_id: str) -> CodexThread | None:
        return self._by_public.get(public_id)

    def known(self, public_id: str) -> CodexThread:
        state = self._by_public.get(public_id)
        if state is None:
            raise RuntimeFailure(INVALID_REQUEST, f"thread not found: {public_id}")
        return state

    def has_codex_id(self, codex_id: str) -> bool:
        return codex_id in self._by_codex

    def codex_id(self, public_id: str) -> str:
        """The codex id of a thread, tracked or not (a re-created one's from the disk map)."""
        state = self._by_public.get(public_id)
        return state.codex_id if state is not None else self._id_map.codex_id(public_id)

    def adopt(self, method: str, result: Any, config: ThreadConfig, *,
              controls: Controls, generation: int) -> ThreadInfo:
        """Track the thread a `thread/start` or `thread/fork` answer made (its codex id is
        its public id) under `controls`' policy, and describe it for the hub."""
        thread = new_thread(method, result)
        state = CodexThread.under(thread["id"], thread["id"], config, controls, generation)
        self._add(state)
        return ThreadInfo(
            id=state.public_id,
            model_provider=str(result.get("modelProvider") or thread.get("modelProvider") or ""),
            cwd=str(thread.get("cwd") or config.cwd),
            created_at=int(thread.get("createdAt") or time.time()),
            source=str(thread.get("source") or "appServer"),
            extra=thread,
        )

    def resumed(self, public_id: str, config: ThreadConfig) -> CodexThread:
        """The thread `thread/resume` is for, under `config`'s controls; one known to the hub
        (e.g. from its store after a gateway restart) but not to us yet is tracked now."""
        state = self._by_public.get(public_id)
        if state is None:
            state = CodexThread.under(public_id, self._id_map.codex_id(public_id), config,
                                      config, generation=0)
            self._add(state)
        else:
            state.config = config
            state.take_controls(config)
        return state

    def recreated(self, state: CodexThread, new_codex_id: str) -> None:
        """`state` now lives in codex as `new_codex_id`: remembered here and on disk."""
        state.codex_id = new_codex_id
        self._by_codex[new_codex_id] = state
        self.public_id_of[new_codex_id] = state.public_id
        self._id_map.set(state.public_id, new_codex_id)

    def _add(self, state: CodexThread) -> None:
        self._by_public[state.public_id] = state
        self._by_codex[state.codex_id] = state


def new_thread(method: str, result: Any) -> JsonObject:
    """The `thread` object of a `thread/start` or `thread/fork` answer, or a failure."""
    thread = result.get("thread") if isinstance(result, dict) else None
    if not isinstance(thread, dict) or not isinstance(thread.get("id"), str):
        raise RuntimeFailure(INTERNAL_ERROR, f"codex {method} returned no thread")
    return thread


def thread_start_params(config: ThreadConfig) -> JsonObject:
    params: JsonObject = {
        "cwd": config.cwd,
        "sandbox": config.sandbox,
        "approvalPolicy": approval_policy(config.approval_policy),
        "dynamicTools": dynamic_tools(config.dynamic_tools),
    }
    if config.model:
        params["model"] = config.model
    return params


def absolute_cwd(config: ThreadConfig) -> ThreadConfig:
    # app-server resolves a relative cwd against its own working directory (the private
    # codex dir); the caller means the gateway's.
    if os.path.isabs(config.cwd):
        return config
    return dataclasses.replace(config, cwd=os.path.abspath(config.cwd))


def is_missing_rollout(message: str) -> bool:
    text = message.lower()
    return "no rollout found" in text or "thread not found" in text
