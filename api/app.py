"""The FastAPI app: GraphQL at /graphql, /healthz and /readyz.

`create_app(store)` takes a store URI (opened once in the lifespan, reopened by the
gateway after an outage) or an already open GraphStore (tests, embedding). Auth is a
FastAPI dependency (`authenticate`) that turns the `Authorization` header into a
`Principal`; tests override it with `app.dependency_overrides` instead of patching.

Refusals happen before any GraphQL work: a request without a valid key gets one
UNAUTHENTICATED error (HTTP 401), unless the app runs in dev mode, which `serve` only
allows on a loopback address. Inside execution, permission classes decide per field.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from graphql import GraphQLError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from graphstore.rules import Rules
from graphstore.store import GraphStore, StoreError

from .auth import DEV_PRINCIPAL, KeyAuthenticator, Principal, bearer_token
from .context import Context
from .errors import STORE_DOWN_MESSAGE, ApiError, Code, CodedErrors, error_result_payload
from .gateway import StoreGateway
from .limits import Limits
from .schema import build_schema

log = logging.getLogger("entitystore.api")


@dataclass(frozen=True)
class Auth:
    """The outcome of authenticating one request: a principal, or why there is none."""

    principal: Principal | None
    refusal: ApiError | None = None


async def authenticate(request: Request) -> Auth:
    """FastAPI dependency: `Authorization: Bearer <key>` -> Auth."""
    state = request.app.state
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        if state.dev:
            return Auth(DEV_PRINCIPAL)
        return Auth(None, ApiError(Code.UNAUTHENTICATED, "an API key is required (Authorization: Bearer <key>)"))
    if not token:
        return Auth(None, ApiError(Code.UNAUTHENTICATED, "the Authorization header must be 'Bearer <key>'"))
    gateway: StoreGateway = state.gateway
    keys: KeyAuthenticator = state.keys
    try:
        principal = await gateway.call(lambda store: keys.authenticate(store, token))
    except StoreError:
        return Auth(None, ApiError(Code.STORE_UNAVAILABLE, STORE_DOWN_MESSAGE))
    if principal is None:
        return Auth(None, ApiError(Code.UNAUTHENTICATED, "unknown or revoked API key"))
    return Auth(principal)


async def _context(request: Request, auth: Auth = Depends(authenticate)) -> Context:
    state = request.app.state
    return Context(state.gateway, auth.principal, auth.refusal, state.limits, state.keys, state.dev)


_STATUS = {Code.UNAUTHENTICATED: 401, Code.STORE_UNAVAILABLE: 503}


class _Router(GraphQLRouter[Context, None]):
    """GraphQLRouter with the refusals and the per-request timeout in front of execution."""

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any, context: Context,
                             root_value: Any, request_data: Any) -> ExecutionResult:
        if context.refusal is not None:
            sub_response.status_code = _STATUS.get(context.refusal.code, 400)
            return ExecutionResult(
                data=None, errors=[GraphQLError(str(context.refusal), extensions=context.refusal.extensions)]
            )
        try:
            return await asyncio.wait_for(
                super().execute_single(request, request_adapter, sub_response, context, root_value, request_data),
                timeout=context.limits.timeout_s,
            )
        except asyncio.TimeoutError:
            return ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"the request took longer than {context.limits.timeout_s:g}s and was stopped",
                        extensions={"code": Code.LIMIT_EXCEEDED.value},
                    )
                ],
            )

    async def render_graphql_ide(self, request: Request) -> Response:  # type: ignore[override]
        """GraphiQL only in dev mode or for a caller holding a valid key."""
        auth = await authenticate(request)
        if auth.principal is None:
            assert auth.refusal is not None
            return JSONResponse(
                error_result_payload(auth.refusal.code, str(auth.refusal)),
                status_code=_STATUS.get(auth.refusal.code, 401),
            )
        return await super().render_graphql_ide(request)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Backstop for errors raised outside the operation hooks (a parse error caught by
        the ParserCache extension skips MaskErrors): every error leaves with a code."""
        if result.errors:
            result.errors = [e if (e.extensions or {}).get("code") else CodedErrors().anonymise_error(e)
                             for e in result.errors]
        return await super().process_result(request, result)


def create_app(
    store: str | GraphStore,
    *,
    dev: bool = False,
    limits: Limits | None = None,
    rules: Rules | None = None,
    key_cache_ttl: float = 5.0,
    inline_store_calls: bool | None = None,
) -> FastAPI:
    """The API app over `store` (a URI, opened in the lifespan, or an open GraphStore)."""
    limits = limits or Limits()
    gateway = StoreGateway(store, rules=rules, inline=inline_store_calls)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(gateway.open)
        try:
            yield
        finally:
            gateway.close()

    app = FastAPI(
        title="entitystore",
        description="Customer entities, the evidence behind each merge, and ID resolution for apps.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.gateway = gateway
    app.state.keys = KeyAuthenticator(ttl=key_cache_ttl)
    app.state.limits = limits
    app.state.dev = dev

    router = _Router(
        build_schema(limits),
        context_getter=_context,
        graphql_ide="graphiql",
        allow_queries_via_get=True,
    )
    app.include_router(router, prefix="/graphql")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """The process is up (says nothing about the store)."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """The store answers a round trip: ready to serve."""
        try:
            await gateway.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness check failed: %s", exc)
            return JSONResponse({"status": "unavailable", "code": Code.STORE_UNAVAILABLE.value}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app
