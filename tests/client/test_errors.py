"""The error tree and response classification (pure parts)."""

from __future__ import annotations

import pytest

from teammesh.client import (
    ApiError,
    AuthError,
    ClientTimeoutError,
    CodexManagerError,
    ConflictError,
    GoneError,
    LockedError,
    NotFoundError,
    RequestDetails,
    ServerError,
    TransportError,
    ValidationError,
    WaitTimeoutError,
)
from teammesh.client.errors import api_error
from teammesh.client.pipeline import normalize_path
from teammesh.client.remote_skills.submission import classify_response
from teammesh.client.transport import encode_query, path_segment


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ValidationError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (410, GoneError),
        (423, LockedError),
        (500, ServerError),
        (503, ServerError),
        (429, ApiError),
        (302, ApiError),
    ],
)
def test_status_classification(status: int, cls: type[ApiError]) -> None:
    error = api_error(RequestDetails("sessions.get", "GET", "/sessions/x", status, {"a": 1}))
    assert type(error) is cls
    assert isinstance(error, CodexManagerError)
    assert error.details.status_code == status
    assert str(error) == f"sessions.get failed with status {status}"


def test_tree_shape() -> None:
    assert issubclass(ClientTimeoutError, TransportError)
    assert issubclass(TransportError, CodexManagerError)
    assert issubclass(WaitTimeoutError, CodexManagerError)
    assert not issubclass(WaitTimeoutError, ApiError)


def test_query_and_path_encoding() -> None:
    assert encode_query({"a": None, "b": True, "c": False, "d": 3}) == "?b=true&c=false&d=3"
    assert encode_query({"a": None}) == ""
    assert path_segment("a/b?c") == "a%2Fb%3Fc"
    assert path_segment(42) == "42"


@pytest.mark.parametrize(
    ("path", "expected"),
    [("", ""), ("health", "/health"), ("/api/health", "/health"), ("/api", ""), ("/apix", "/apix")],
)
def test_path_normalization(path: str, expected: str) -> None:
    assert normalize_path(path, "/api") == expected


@pytest.mark.parametrize(
    ("body", "accepted", "retryable", "idempotent", "status"),
    [
        ({"status": "ok", "requestId": "1"}, True, False, False, "ok"),
        ({"status": "conflict", "code": "in_flight"}, True, False, True, "conflict"),
        ({"status": "not_found"}, True, False, True, "not_found"),
        ({"status": "error", "code": "x", "message": "boom"}, False, True, False, "error"),
        ({"status": "conflict"}, False, False, False, "conflict"),
        ({"nostatus": 1}, False, True, False, "malformed"),
        ("text", False, True, False, "malformed"),
    ],
)
def test_submission_classification(
    body: object, accepted: bool, retryable: bool, idempotent: bool, status: str
) -> None:
    verdict = classify_response(body)
    assert (verdict.accepted, verdict.retryable, verdict.idempotent, verdict.status) == (
        accepted,
        retryable,
        idempotent,
        status,
    )
    if status == "error":
        assert verdict.error == (
            "tool call response rejected by codex-manager with status=error, code=x, message=boom"
        )
