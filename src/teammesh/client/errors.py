"""The client's error tree (httpx style: one root, a branch per failure kind).

`ApiError` carries the request facts in `.details`; the status code lives at
`err.details.status_code`, as in codex-manager's client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class RequestDetails:
    operation: str
    method: str
    path: str
    status_code: int | None = None
    response_body: Any = None


class CodexManagerError(Exception):
    """Root of every error this client raises on purpose."""


class TransportError(CodexManagerError):
    """The request never got an HTTP answer (connection refused, reset, …)."""


class ClientTimeoutError(TransportError):
    """The HTTP request timed out."""


class ApiError(CodexManagerError):
    """The server answered with a status the operation does not accept."""

    def __init__(self, message: str, details: RequestDetails) -> None:
        super().__init__(message)
        self.details = details


class AuthError(ApiError):
    """401 or 403."""


class ValidationError(ApiError):
    """400: the server rejected the request body or query."""


class NotFoundError(ApiError):
    """404."""


class ConflictError(ApiError):
    """409."""


class GoneError(ApiError):
    """410: the session was deleted."""


class LockedError(ApiError):
    """423."""


class ServerError(ApiError):
    """Any status >= 500."""


class TypedModelValidationError(CodexManagerError):
    """A response did not match its typed model (strict validation mode)."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        model_name: str,
        errors: list[Any],
        boundary: str = "response",
        status_code: int | None = None,
        raw_sample: Any = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.model_name = model_name
        self.errors = errors
        self.boundary = boundary
        self.status_code = status_code
        self.raw_sample = raw_sample


class WaitTimeoutError(CodexManagerError):
    """A wait helper gave up (or a turn ended in a way the waiter cannot accept)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: ValidationError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    423: LockedError,
}


def error_class_for_status(status_code: int) -> type[ApiError]:
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, ApiError)


def api_error(details: RequestDetails) -> ApiError:
    """The classified error for a response whose status was not accepted."""
    status = details.status_code if details.status_code is not None else 0
    cls = error_class_for_status(status)
    return cls(f"{details.operation} failed with status {status}", details)


def status_code_of(error: BaseException) -> int | None:
    return error.details.status_code if isinstance(error, ApiError) else None
