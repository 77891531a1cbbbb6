"""API keys, roles and the permission classes that guard every field.

Keys are random 256-bit tokens shown once; the store keeps only their SHA-256 (a fast
hash is enough for a high-entropy secret: there is nothing to brute-force). Each
request's `Authorization: Bearer <key>` becomes a `Principal` with one role; fields
declare which roles may use them through `BasePermission` subclasses, never with
`if role == ...` inside a resolver.

| role     | may use                                                                   |
|----------|---------------------------------------------------------------------------|
| app      | resolve, resolveMany, entity, search, record, identifier, explainMatch    |
| steward  | app + linkRecords, splitRecords, removeOverride, reconciliation, exceptions |
| auditor  | everything readable, incl. entities, auditLog, reports; no mutations      |
| admin    | everything, incl. API key management                                      |
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from strawberry.permission import BasePermission

from graphstore.model import ApiKey, utcnow
from graphstore.store import GraphStore

from .errors import ApiError, Code

if TYPE_CHECKING:
    from strawberry.types import Info

APP = "app"
STEWARD = "steward"
AUDITOR = "auditor"
ADMIN = "admin"
ROLES = (APP, STEWARD, AUDITOR, ADMIN)

KEY_PREFIX = "esk_"


class KeyError_(ValueError):
    """A key-management request we refuse (unknown role, empty name)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, name and role. `actor` is what the audit log records."""

    key_id: str
    name: str
    role: str
    dev: bool = False

    @property
    def actor(self) -> str:
        return f"{self.name} (dev mode)" if self.dev else f"{self.name} (key {self.key_id})"


DEV_PRINCIPAL = Principal(key_id="dev", name="developer", role=ADMIN, dev=True)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(store: GraphStore, name: str, role: str) -> tuple[str, ApiKey]:
    """Make a key, store its hash, and return the plaintext: the only time it exists."""
    name = name.strip()
    if role not in ROLES:
        raise KeyError_(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}")
    if not name:
        raise KeyError_("a key needs a name (who or what uses it)")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        id="key-" + secrets.token_hex(4), name=name, role=role, key_hash=hash_key(plaintext), hint=plaintext[-4:]
    )
    store.add_api_key(record)
    return plaintext, record


def revoke_key(store: GraphStore, key_id: str) -> ApiKey | None:
    return store.revoke_api_key(key_id, utcnow())


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (None when absent)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return token.strip()


class KeyAuthenticator:
    """Turns a presented key into a Principal, with a short positive cache.

    Every request authenticates, so a store lookup each time would put a round trip
    in front of every `resolve`. Known-good keys are remembered for `ttl` seconds: a
    revocation (by `entitystore keys revoke`, possibly in another process) takes
    effect within that time. Unknown keys are never cached, so a new key works at once.
    """

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, store: GraphStore, token: str) -> Principal | None:
        digest = hash_key(token)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        record = store.api_key_by_hash(digest)
        if record is None or not record.active or not hmac.compare_digest(record.key_hash, digest):
            with self._lock:
                self._cache.pop(digest, None)
            return None
        principal = Principal(key_id=record.id, name=record.name, role=record.role)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (principal, now + self.ttl)
        return principal

    def forget(self, key_id: str) -> None:
        """Drop a revoked key from the cache at once (revocations made through this process)."""
        with self._lock:
            for digest, (principal, _) in list(self._cache.items()):
                if principal.key_id == key_id:
                    del self._cache[digest]


# -- permission classes -----------------------------------------------------------------
class _RoleGate(BasePermission):
    """Allows the roles in `roles`; no principal at all is UNAUTHENTICATED, not FORBIDDEN."""

    roles: ClassVar[frozenset[str]]

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal: Principal | None = info.context.principal
        if principal is None:
            raise ApiError(Code.UNAUTHENTICATED, "an API key is required (Authorization: Bearer <key>)")
        if principal.role in self.roles:
            return True
        # Raised here rather than via `message` so the text can name the role and field
        # without mutating a permission instance shared by concurrent requests.
        raise ApiError(Code.FORBIDDEN, f"role {principal.role!r} may not use {info.field_name!r}")


class CanRead(_RoleGate):
    """resolve, entity, search, record, identifier, explainMatch: every role."""

    roles = frozenset({APP, STEWARD, AUDITOR, ADMIN})


class CanAudit(_RoleGate):
    """Bulk reads and the audit log: auditors and admins."""

    roles = frozenset({AUDITOR, ADMIN})


class CanReview(_RoleGate):
    """Reports over the whole store (reconciliation, exceptions): the people who act on
    them (stewards) and check them (auditors, admins); not apps."""

    roles = frozenset({STEWARD, AUDITOR, ADMIN})


class CanSteward(_RoleGate):
    """Overrides that change entities: stewards and admins."""

    roles = frozenset({STEWARD, ADMIN})


class CanAdmin(_RoleGate):
    """API key management."""

    roles = frozenset({ADMIN})
