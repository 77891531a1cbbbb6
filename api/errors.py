"""Stable error codes, and the one place errors are shaped for clients.

Every error a client sees is a GraphQL error whose `extensions.code` is one of `Code`;
clients branch on the code, never on the message. Anything we did not raise on purpose
(a bug, a driver exception) reaches the client as "Unexpected error." with code
`INTERNAL_ERROR`: no stack trace, no SQL, no URI, no class names. The original is
logged server-side.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from graphql import GraphQLError
from graphql.error import GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from graphstore.store import StoreError

log = logging.getLogger("entitystore.api")


class Code(str, Enum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    BAD_INPUT = "BAD_INPUT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


STORE_DOWN_MESSAGE = "the store is unavailable; retry shortly"


class ApiError(Exception):
    """An error we raise on purpose: its message is written for the client.

    graphql-core copies `extensions` from the original exception onto the GraphQL
    error it builds, which is how the code reaches the response.
    """

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.extensions: dict[str, Any] = {"code": code.value}


def not_found(message: str) -> ApiError:
    return ApiError(Code.NOT_FOUND, message)


def bad_input(message: str) -> ApiError:
    return ApiError(Code.BAD_INPUT, message)


def limit_exceeded(message: str) -> ApiError:
    return ApiError(Code.LIMIT_EXCEEDED, message)


def error_result_payload(code: Code, message: str) -> dict[str, Any]:
    """A whole GraphQL response carrying one error: for refusals before execution."""
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code.value}}]}


# Messages of the validation rules and parser limits we enable (strawberry and
# graphql-core raise them without a code of their own).
_LIMIT_MARKERS = (
    "exceeds maximum operation depth",  # QueryDepthLimiter
    "aliases found. Allowed",  # MaxAliasesLimiter
    "tokens. Parsing aborted",  # MaxTokensLimiter (parser option)
    "Maximum introspection depth exceeded",  # graphql-core MaxIntrospectionDepthRule
)


def classify(error: GraphQLError) -> tuple[Code, str]:
    """The code and client-safe message for any error the executor produced."""
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    code = (error.extensions or {}).get("code")
    if isinstance(original, ApiError):
        return original.code, str(original)
    if isinstance(original, StoreError):
        return Code.STORE_UNAVAILABLE, STORE_DOWN_MESSAGE
    if code in Code.__members__:
        return Code(code), error.message
    if (
        original is None
        or isinstance(original, GraphQLSyntaxError)
        or (error.path is None and _is_request_error(original))
    ):
        # Parsing, validation and variable coercion: these describe the request, not us.
        if any(marker in error.message for marker in _LIMIT_MARKERS):
            return Code.LIMIT_EXCEEDED, error.message
        return Code.BAD_INPUT, error.message
    return Code.INTERNAL_ERROR, "Unexpected error."


def _is_request_error(original: BaseException) -> bool:
    """Errors graphql-core raises while coercing variables (before any resolver runs)."""
    return isinstance(original, (GraphQLError, TypeError, ValueError)) and type(original).__module__.startswith(
        "graphql"
    )


class CodedErrors(MaskErrors):
    """MaskErrors that also stamps a stable code on every error it lets through.

    Errors we raised (`ApiError`), store outages and request problems keep a useful
    message; everything else is masked.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _e: True)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        code, message = classify(error)
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": code.value},
        )


def log_errors(errors: list[GraphQLError]) -> None:
    """Server-side log: unexpected errors with their traceback, expected ones not at all."""
    for error in errors:
        code, _ = classify(error)
        if code is Code.INTERNAL_ERROR:
            log.error("unexpected error at %s", error.path, exc_info=error.original_error or error)
        elif code is Code.STORE_UNAVAILABLE:
            log.warning("store unavailable: %s", error.original_error)
