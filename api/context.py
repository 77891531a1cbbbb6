"""What every resolver gets: the caller, the store gateway, and this request's loaders."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry
from strawberry.fastapi import BaseContext

from graphstore.rules import Rules

from .auth import Principal
from .errors import ApiError
from .gateway import StoreGateway
from .limits import Limits
from .loaders import Loaders

if TYPE_CHECKING:
    from .auth import KeyAuthenticator


class Context(BaseContext):
    """Built per request by the app's context getter (a FastAPI dependency).

    `principal` is None when no valid key came with the request; `refusal` then says
    why (UNAUTHENTICATED, or STORE_UNAVAILABLE when the key could not be checked), and
    the router answers with it instead of executing anything.
    """

    def __init__(
        self,
        gateway: StoreGateway,
        principal: Principal | None,
        refusal: ApiError | None,
        limits: Limits,
        keys: KeyAuthenticator,
        dev: bool,
    ) -> None:
        super().__init__()
        self.gateway = gateway
        self.principal = principal
        self.refusal = refusal
        self.limits = limits
        self.keys = keys
        self.dev = dev
        self.loaders = Loaders(gateway)

    @property
    def rules(self) -> Rules:
        return self.gateway.rules


def ctx(info: strawberry.Info) -> Context:
    context: Context = info.context
    return context
