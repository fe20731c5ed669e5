"""`cm.typed` covers `client/operations.py` exactly: every operation has a typed twin on
both clients, every twin calls the raw method that sends its operation, and what a twin may
answer (`ok` / `answers` / `either`) follows the operation's allow-list."""

from __future__ import annotations

import asyncio
import inspect
from collections import abc
from collections.abc import Mapping, Sequence
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest
from pydantic import BaseModel

from teammesh.client import AsyncCodexManager, CodexManager, api
from teammesh.client._typed_call import (
    NOT_OK_MODELS,
    Blocking,
    TypedCall,
    TypedNamespace,
    ok,
)
from teammesh.client.api import SessionsApi
from teammesh.client.operations import OPERATIONS
from teammesh.client.request import RequestCall
from teammesh.client.typed import RESPONSE_MODELS, typed_calls

_RAW_CLASSES = {
    "system": api.SystemApi, "models": api.ModelsApi, "apps": api.AppsApi,
    "skills": api.SkillsApi, "mcp": api.McpApi, "account": api.AccountApi,
    "config": api.ConfigApi, "runtime": api.RuntimeApi, "feedback": api.FeedbackApi,
    "extensions": api.ExtensionsApi, "orchestrator": api.OrchestratorApi,
    "projects": api.ProjectsApi, "sessions": api.SessionsApi, "approvals": api.ApprovalsApi,
    "tool_input": api.ToolInputApi, "tool_calls": api.ToolCallsApi,
}


def test_every_operation_has_one_response_model() -> None:
    assert set(RESPONSE_MODELS) == set(OPERATIONS)
    for operation, model in RESPONSE_MODELS.items():
        assert issubclass(model, BaseModel), operation
        assert model.model_config.get("extra") == "allow", operation  # open: servers add keys


def test_every_operation_has_a_typed_twin_on_both_clients() -> None:
    async def build() -> AsyncCodexManager:
        return AsyncCodexManager(base_url="http://127.0.0.1:9")

    async_cm = asyncio.run(build())
    with CodexManager(base_url="http://127.0.0.1:9") as sync_cm:
        for client in (sync_cm, async_cm):
            reached: set[str] = set()
            for (space, name), call in typed_calls().items():
                twin = getattr(getattr(client.typed, space), name)
                raw = getattr(getattr(client, space), name)
                assert callable(twin), (space, name)
                assert inspect.signature(twin) == inspect.signature(raw), (space, name)
                reached.add(call.operation)
            assert reached == set(OPERATIONS)


# calls whose raw method needs one of two optional forms
_EXTRA_ARGUMENTS: dict[tuple[str, str], dict[str, Any]] = {
    ("sessions", "settings_set"): {"key": "k"},
}


def _dummy(hint: Any) -> Any:
    """A value of type `hint` the domain method will accept (it validates nothing itself)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return args[0]
    if origin in (Union, UnionType):
        return _dummy(next(a for a in args if a is not type(None)))
    if hint is bool:
        return True
    if hint is int:
        return 1
    if hint is str:
        return "x"
    if origin in (list, Sequence, abc.Sequence):
        return [_dummy(args[0]) if args else "x"]
    if origin in (dict, Mapping, abc.Mapping) or hint in (dict, Any):
        return {}
    raise AssertionError(f"no dummy for {hint!r}")


def test_each_twin_wraps_the_raw_method_that_sends_its_operation() -> None:
    """Run each raw method (with its required arguments) on a requester that records what
    it is asked to send: the operation must be the one its twin validates for."""
    for (space, name), call in typed_calls().items():
        assert call.name == name == call.original.__name__, (space, name)
        sent: list[RequestCall] = []
        raw_api = _RAW_CLASSES[space](sent.append)
        hints = get_type_hints(call.original)
        arguments: dict[str, Any] = dict(_EXTRA_ARGUMENTS.get((space, name), {}))
        for parameter in list(inspect.signature(call.original).parameters.values())[1:]:
            if parameter.default is inspect.Parameter.empty:
                arguments[parameter.name] = _dummy(hints[parameter.name])
        getattr(raw_api, name)(**arguments)
        assert [request.operation for request in sent] == [call.operation], (space, name)


def test_what_a_twin_may_answer_follows_the_allow_list() -> None:
    for (space, name), call in typed_calls().items():
        allow = OPERATIONS[call.operation].allow
        only_2xx = all(200 <= status < 300 for status in allow)
        takes_not_ok = set(NOT_OK_MODELS) <= set(call.models)
        # an `ok` twin must not hide a refusal; an `answers` twin must parse one
        assert takes_not_ok != only_2xx, (space, name, allow)
        if not takes_not_ok:
            assert len(call.models) == 1, (space, name)


def test_a_twin_under_another_name_fails_at_import() -> None:
    with pytest.raises((TypeError, RuntimeError)) as caught:
        class Misnamed(TypedNamespace[Blocking]):
            fork = ok(SessionsApi.rename, "sessions.rename", BaseModel)
    # 3.11 wraps an error of `__set_name__` in a RuntimeError; 3.12 raises it as is
    error = caught.value.__cause__ or caught.value
    assert "Misnamed.fork wraps rename" in str(error)


def test_the_class_attribute_is_the_declaration() -> None:
    from teammesh.client.typed import TypedSessions

    assert isinstance(TypedSessions.get, TypedCall)
