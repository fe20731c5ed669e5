"""One typed call, declared in one line: `get = answers(SessionsApi.get, "sessions.get",
r.SessionDetail)` in a typed namespace class (`client/typed.py`).

Why a descriptor: the typed facade is shared by both clients, as the raw domain APIs are,
but `CodexManager` returns a model where `AsyncCodexManager` returns an awaitable of it.
The namespace classes are generic over a mode marker (`Blocking` / `Awaiting`) and the
descriptor's overloaded `__get__` picks the return type from it, so mypy sees
`cm.typed.sessions.get` as `(session_id: str) -> SessionDetail | NotOk` on the sync client
and `(session_id: str) -> Awaitable[SessionDetail | NotOk]` on the async one, with the raw
method's parameters (ParamSpec) — no stub file, no per-client copy of each namespace.

Three helpers say what a call may answer:
- `ok`: the operation's allow-list holds only 2xx statuses, so the body is the success model
  (anything else already raised `ApiError`);
- `answers`: the success model, or an allowed non-success answer (`NotOk`);
- `either`: two success models (suggested-request answers 200 or 202), or `NotOk`.
`tests/client/test_typed_coverage.py` holds each choice to the operation's allow-list.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from teammesh import wire_responses as r
from teammesh.client.errors import TypedModelValidationError

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)
M2 = TypeVar("M2", bound=BaseModel)

# An allowed non-2xx answer, tried after the operation's own success model(s).
NotOk = r.DeletedSession | r.ErrorEnvelope | r.ForwardingFailed | r.Refusal
NOT_OK_MODELS: tuple[type[BaseModel], ...] = (
    r.DeletedSession, r.ErrorEnvelope, r.ForwardingFailed, r.Refusal)


class Blocking:
    """Mode marker: the namespace's calls return the model (`CodexManager`)."""


class Awaiting:
    """Mode marker: the namespace's calls return an awaitable of it (`AsyncCodexManager`)."""


Mode = TypeVar("Mode", Blocking, Awaiting)


def parse(operation: str, models: tuple[type[BaseModel], ...], body: Any) -> BaseModel:
    """The body as the first of `models` it validates as; else the error of the first."""
    errors: list[Any] = []
    for candidate in models:
        try:
            return candidate.model_validate(body)
        except PydanticValidationError as error:
            if not errors:
                errors = [dict(e) for e in error.errors(include_url=False)] or [{}]
    name = models[0].__name__
    raise TypedModelValidationError(
        f"{operation} response does not match {name}: {len(errors)} error(s)",
        operation=operation,
        model_name=name,
        errors=errors,
        boundary="response",
        raw_sample=body,
    )


class TypedNamespace(Generic[Mode]):
    """Wraps one raw domain API; `blocking` says whether its results are bodies (sync
    client) or awaitables of them (async client)."""

    def __init__(self, raw: object, *, blocking: bool) -> None:
        self._raw = raw
        self._blocking = blocking

    @classmethod
    def calls(cls) -> dict[str, TypedCall[Any, Any]]:
        """Every typed call this namespace declares, by method name."""
        found: dict[str, TypedCall[Any, Any]] = {}
        for klass in reversed(cls.__mro__):
            found.update({k: v for k, v in vars(klass).items() if isinstance(v, TypedCall)})
        return found

    def __dir__(self) -> list[str]:
        return sorted(self.calls())


class TypedCall(Generic[P, R]):
    """A raw method's typed twin: same parameters, the body parsed into `models`."""

    def __init__(
        self,
        original: Callable[Concatenate[Any, P], Any],
        operation: str,
        models: tuple[type[BaseModel], ...],
    ) -> None:
        self.original = original
        self.operation = operation
        self.models = models
        self.name = original.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        # The twin's name is the raw method's: a line declaring `fork = ok(SessionsApi.rename,
        # …)` would call the wrong thing under the right name, so it fails at import.
        if name != self.name:
            raise TypeError(f"{owner.__name__}.{name} wraps {self.name}")

    @overload
    def __get__(self, obj: None, owner: type) -> Self: ...
    @overload
    def __get__(self, obj: TypedNamespace[Blocking], owner: type) -> Callable[P, R]: ...
    @overload
    def __get__(
        self, obj: TypedNamespace[Awaiting], owner: type
    ) -> Callable[P, Awaitable[R]]: ...
    def __get__(self, obj: TypedNamespace[Any] | None, owner: type) -> Any:
        if obj is None:
            return self
        method: Callable[..., Any] = getattr(obj._raw, self.name)
        operation, models = self.operation, self.models

        if obj._blocking:
            @functools.wraps(method)
            def call(*args: Any, **kwargs: Any) -> Any:
                return parse(operation, models, method(*args, **kwargs))
        else:
            @functools.wraps(method)
            def call(*args: Any, **kwargs: Any) -> Any:
                pending: Awaitable[Any] = method(*args, **kwargs)

                async def parsed() -> BaseModel:
                    return parse(operation, models, await pending)

                return parsed()

        return call


def ok(
    original: Callable[Concatenate[Any, P], Any], operation: str, model: type[M]
) -> TypedCall[P, M]:
    """A call whose allow-list is 2xx only: the body is `model`."""
    return TypedCall(original, operation, (model,))


def answers(
    original: Callable[Concatenate[Any, P], Any], operation: str, model: type[M]
) -> TypedCall[P, M | NotOk]:
    """A call that may also answer an allowed non-success status (`NotOk`)."""
    return TypedCall(original, operation, (model, *NOT_OK_MODELS))


def either(
    original: Callable[Concatenate[Any, P], Any],
    operation: str,
    model: type[M],
    other: type[M2],
) -> TypedCall[P, M | M2 | NotOk]:
    """Two success bodies (200 and 202), or an allowed non-success answer."""
    return TypedCall(original, operation, (model, other, *NOT_OK_MODELS))
