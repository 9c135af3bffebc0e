"""The exceptions the client raises.

Airlock answers every refusal with a coded body, ``{"error": {"code", "message", "field"?, "retry_after"?,
"errors"?}}``, from one error table (``errors`` lists every issue of a request that fails validation); the client raises it as an :class:`AirlockClientError` subclass chosen by the HTTP status,
carrying the code, field and retry_after as given. Failures without a coded answer carry a client code:
``network_error`` (status 0) or ``unexpected_response``. Never puts the bearer token into a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldIssue:
    """One issue of a request that failed validation: the dotted field path ("" for the whole body) and why."""

    field: str
    message: str


class AirlockClientError(Exception):
    """Airlock refused a request, could not be reached, or answered in a way the client does not understand."""

    status: int
    """HTTP status of the answer; 0 when none arrived."""
    code: str
    """The gateway's error code (``invalid_request``, ``session_busy``, ...) or a client code."""
    message: str
    field: str | None
    """Dotted path of the offending request field, when the gateway named one."""
    retry_after: float | None
    """Seconds to wait before retrying (429, 503)."""
    errors: tuple[FieldIssue, ...]
    """Every issue of a request that failed validation (the first is also ``field``/``message``); else empty."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        retry_after: float | None = None,
        errors: tuple[FieldIssue, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after
        self.errors = errors

    def __str__(self) -> str:
        field = f" (field {self.field})" if self.field else ""
        return f"{self.code}{field}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r}, "
            f"field={self.field!r}, retry_after={self.retry_after!r}, errors={self.errors!r})"
        )


class InvalidRequestError(AirlockClientError):
    """The request is malformed or out of range (400, 405, 413, 414, 415, 431)."""


class AuthenticationError(AirlockClientError):
    """No valid credential was presented (401; 407 from the egress proxy)."""


class PermissionDeniedError(AirlockClientError):
    """The token does not allow this request (403)."""


class NotFoundError(AirlockClientError):
    """No such execution or session is visible to the caller (404)."""


class ConflictError(AirlockClientError):
    """The request conflicts with the current state: finished, busy, closed, idempotency (409)."""


class UnprocessableError(AirlockClientError):
    """The server cannot serve this request here: backend or egress unavailable (422)."""


class RateLimitError(AirlockClientError):
    """Queue full, rate or quota exhausted, too many sessions, snapshot quota (``snapshot_quota_exceeded``) (429).

    See ``retry_after`` where the server gives one (a snapshot quota has none: delete a snapshot first).
    """


class ServerError(AirlockClientError):
    """Airlock failed or is shutting down (5xx)."""


class NetworkError(AirlockClientError):
    """The request did not reach Airlock or no answer arrived (status 0, code ``network_error``)."""


class UnexpectedResponseError(AirlockClientError):
    """Airlock answered with a status or body the client does not understand (code ``unexpected_response``)."""


_BY_STATUS: dict[int, type[AirlockClientError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: InvalidRequestError,
    407: AuthenticationError,
    409: ConflictError,
    413: InvalidRequestError,
    414: InvalidRequestError,
    415: InvalidRequestError,
    422: UnprocessableError,
    429: RateLimitError,
    431: InvalidRequestError,
}


def error_for(status: int, body: Any, what: str) -> AirlockClientError:
    """The exception for a non-2xx answer: its coded body, or ``unexpected_response`` without one."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"]:
        message = error.get("message")
        field = error.get("field")
        retry_after = error.get("retry_after")
        cls = _BY_STATUS.get(status, ServerError if status >= 500 else AirlockClientError)
        return cls(
            status,
            error["code"],
            message if isinstance(message, str) else "",
            field if isinstance(field, str) and field else None,
            float(retry_after) if isinstance(retry_after, (int, float)) else None,
            _issues(error.get("errors")),
        )
    message = f"{what}: HTTP {status} without an Airlock error body"
    return UnexpectedResponseError(status, "unexpected_response", message)


def _issues(value: Any) -> tuple[FieldIssue, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        FieldIssue(issue["field"], issue["message"])
        for issue in value
        if isinstance(issue, dict) and isinstance(issue.get("field"), str) and isinstance(issue.get("message"), str)
    )
