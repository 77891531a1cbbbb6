"""The GraphQL schema: root queries and mutations, guarded by permission classes.

Resolvers here only translate: arguments in, one call to a DataLoader, the store
gateway or the resolution facade, types out. Who may call what is declared on each
field (`permission_classes`), limits are schema extensions (see `build_schema`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from graphql.validation import MaxIntrospectionDepthRule
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from graphstore.explain import UnknownRecord
from graphstore.model import record_key
from graphstore.resolution import ResolutionError

from . import auth
from .auth import CanAdmin, CanAudit, CanRead, CanSteward
from .context import Context, ctx
from .errors import ApiError, Code, CodedErrors, bad_input, limit_exceeded, log_errors, not_found
from .limits import Limits, QueryCostLimiter
from .pagination import MAX_PAGE, Page, check_page, decode_cursor, keyset_page
from .reports import ReportQueries
from .search import search as run_search
from .types import (
    ApiKeyNode,
    CreatedApiKeyNode,
    EntityKind,
    EntityNode,
    EventNode,
    ExplanationNode,
    IdentifierNode,
    OverrideNode,
    OverrideResultNode,
    RecordKeyInput,
    RecordNode,
    ResolutionNode,
    Role,
    SearchHitNode,
    ViewerNode,
)

# What auditLog lists unless `types` says otherwise: the decisions, not routine additions.
AUDIT_TYPES = ("merged", "merged_into", "split", "cut", "record_moved", "override_added", "override_removed")


def _key(source: str, source_id: str) -> str:
    """A record key from client input; BAD_INPUT instead of a ValueError."""
    if not source_id:
        raise bad_input("sourceId must not be empty")
    try:
        return record_key(source, source_id)
    except ValueError as exc:
        raise bad_input(str(exc)) from None


async def _resolution(context: Context, source: str, source_id: str) -> ResolutionNode:
    key = _key(source, source_id)
    entity_id = await context.loaders.entity_of_record.load(key)
    if entity_id is None and not await context.loaders.record_known.load(key):
        raise not_found(f"no record {key}")
    return ResolutionNode(source=source, source_id=source_id, _entity_id=entity_id)


# `source` is also the name of the resolver's parent object in strawberry's permission
# extension, so the argument is `source` in GraphQL but `source_` in Python.
SourceArg = Annotated[str, strawberry.argument(name="source")]


@strawberry.type(name="EntityConnection", description="A page of entities, by id.")
class EntityConnection(relay.Connection[EntityNode]):
    pass


@strawberry.type(name="AuditLogConnection", description="A page of audit events, oldest first.")
class EventConnection(relay.Connection[EventNode]):
    pass


@strawberry.type
class Query(ReportQueries):
    @strawberry.field(permission_classes=[CanRead], description="The person and account of one source record.")
    async def resolve(self, info: strawberry.Info, source_: SourceArg, source_id: str) -> ResolutionNode | None:
        return await _resolution(ctx(info), source_, source_id)

    @strawberry.field(
        permission_classes=[CanRead],
        description="resolve for up to 1,000 keys, in order; an unknown key is null with a NOT_FOUND error at its index.",
    )
    async def resolve_many(self, info: strawberry.Info, keys: list[RecordKeyInput]) -> list[ResolutionNode | None]:
        context = ctx(info)
        if len(keys) > context.limits.max_keys:
            raise limit_exceeded(f"{len(keys):,} keys; resolveMany takes at most {context.limits.max_keys:,}")
        results: list[Any] = await asyncio.gather(
            *(_resolution(context, k.source, k.source_id) for k in keys), return_exceptions=True
        )
        for r in results:  # a store outage fails the whole call, not 1,000 items one by one
            if isinstance(r, BaseException) and not isinstance(r, ApiError):
                raise r
        return results

    @strawberry.field(permission_classes=[CanRead], description="An entity by id; merged-away ids lead to the survivor.")
    async def entity(self, info: strawberry.Info, id: strawberry.ID) -> EntityNode | None:
        live = await ctx(info).loaders.live_id.load(str(id))
        if live is None:
            raise not_found(f"no entity {id}")
        return EntityNode(id=strawberry.ID(live))

    @strawberry.field(permission_classes=[CanRead], description="One source record with its identifiers.")
    async def record(self, info: strawberry.Info, source_: SourceArg, source_id: str) -> RecordNode | None:
        key = _key(source_, source_id)
        found = await ctx(info).loaders.record.load(key)
        if found is None:
            raise not_found(f"no record {key}")
        return RecordNode(key=key, _model=found)

    @strawberry.field(permission_classes=[CanRead], description="A shared identifier, its degree and hub flag.")
    async def identifier(self, info: strawberry.Info, kind: str, value: str) -> IdentifierNode | None:
        found = await ctx(info).loaders.identifier.load(f"{kind}:{value}")
        if found is None:
            raise not_found(f"no identifier {kind}:{value}")
        return IdentifierNode.of(found)

    @strawberry.field(permission_classes=[CanRead], description="Why two records are one customer, or why not.")
    async def explain_match(self, info: strawberry.Info, a: RecordKeyInput, b: RecordKeyInput) -> ExplanationNode:
        ka, kb = _key(a.source, a.source_id), _key(b.source, b.source_id)
        if ka == kb:
            raise bad_input("explainMatch needs two different records")
        context = ctx(info)
        try:
            explanation = await context.gateway.call(lambda _s: context.gateway.resolver().explain(ka, kb))
        except UnknownRecord as exc:
            raise not_found(str(exc)) from None
        return ExplanationNode.of(explanation)

    @relay.connection(
        Page[SearchHitNode],
        permission_classes=[CanRead],
        description="Entities by email, name, domain, phone, user/device/payment id, or source id.",
    )
    async def search(self, info: strawberry.Info, text: str) -> list[SearchHitNode]:
        hits = await run_search(ctx(info), text)
        return [SearchHitNode(matched_on=h.matched_on, record_keys=h.record_keys, entity_id=h.entity_id) for h in hits]

    @strawberry.field(permission_classes=[CanAudit], description="All entities by id, optionally of one kind.")
    async def entities(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        kind: EntityKind | None = None,
    ) -> EntityConnection:
        size = check_page(first)
        last_id = decode_cursor(after, "entity")
        store_kind = kind.value if kind else None
        rows = await ctx(info).gateway.call(lambda s: s.list_entities(kind=store_kind, after=last_id, limit=size + 1))
        return keyset_page(
            EntityConnection, rows, size, "entity", lambda e: e.id,
            lambda e: EntityNode(id=strawberry.ID(e.id), _model=e), had_cursor=last_id is not None,
        )

    @strawberry.field(
        permission_classes=[CanAudit],
        description="Merges, splits and overrides with actor, time, reason and rule version, oldest first. "
        "With entityId: that entity and the ids merged into it.",
    )
    async def audit_log(
        self,
        info: strawberry.Info,
        entity_id: strawberry.ID | None = None,
        since: str | None = None,
        first: int | None = None,
        after: str | None = None,
        types: list[str] | None = None,
    ) -> EventConnection:
        context = ctx(info)
        size = check_page(first)
        cursor = decode_cursor(after, "event")
        if cursor is not None and not cursor.isdigit():
            raise bad_input("argument 'after' is not an audit log cursor")
        after_seq = int(cursor) if cursor is not None else None
        ids: list[str] | None = None
        if entity_id is not None:
            live = await context.loaders.live_id.load(str(entity_id))
            ids = [str(entity_id)] if live is None else [live, *await context.loaders.aliases.load(live)]
            if live is not None and str(entity_id) not in ids:
                ids.append(str(entity_id))
        wanted = tuple(types) if types else AUDIT_TYPES
        rows = await context.gateway.call(
            lambda s: s.events(entity_ids=ids, since=since, after_seq=after_seq, limit=size + 1, types=wanted)
        )
        return keyset_page(
            EventConnection, rows, size, "event", lambda e: str(e.seq), EventNode.of, had_cursor=after_seq is not None
        )

    @strawberry.field(permission_classes=[CanRead], description="Who your API key says you are.")
    def viewer(self, info: strawberry.Info) -> ViewerNode:
        p = ctx(info).principal
        assert p is not None  # CanRead refused the request otherwise
        return ViewerNode(name=p.name, role=Role(p.role), key_id=p.key_id, dev=p.dev)

    @strawberry.field(permission_classes=[CanAdmin], description="API keys (never the keys themselves).")
    async def api_keys(self, info: strawberry.Info, include_revoked: bool = False) -> list[ApiKeyNode]:
        keys = await ctx(info).gateway.call(lambda s: s.list_api_keys(include_revoked=include_revoked))
        return [ApiKeyNode.of(k) for k in keys]


async def _override(info: strawberry.Info, op: str, *args: str) -> OverrideResultNode:
    """Run one steward override through the facade; it re-resolves the component at once."""
    context = ctx(info)
    principal = context.principal
    assert principal is not None

    reason = args[-1]
    if not reason.strip():
        raise bad_input("a reason is required")
    try:
        if op == "remove_override":
            override_id = args[0]
            active = await context.gateway.call(lambda s: {o.id for o in s.get_overrides(active_only=True)})
            if override_id not in active:
                raise not_found(f"no active override {override_id}")
            outcome = await context.gateway.call_resolver(
                lambda r: r.remove_override(override_id, actor=principal.actor, reason=reason)
            )
        else:
            a, b = args[0], args[1]
            known = await context.loaders.record_known.load_many([a, b])
            for key, ok in zip((a, b), known):
                if not ok:
                    raise not_found(f"no record {key}")
            outcome = await context.gateway.call_resolver(
                lambda r: (r.link if op == "link" else r.split)(a, b, actor=principal.actor, reason=reason)
            )
    except ResolutionError as exc:
        raise bad_input(str(exc)) from None
    context.loaders.clear_all()  # the graph changed under this request's caches
    return OverrideResultNode(override=OverrideNode.of(outcome.override), entity_ids=list(outcome.entity_ids))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        permission_classes=[CanSteward], description="Must-link two records; their entities merge at once."
    )
    async def link_records(
        self, info: strawberry.Info, a: RecordKeyInput, b: RecordKeyInput, reason: str
    ) -> OverrideResultNode:
        return await _override(info, "link", _key(a.source, a.source_id), _key(b.source, b.source_id), reason)

    @strawberry.mutation(
        permission_classes=[CanSteward],
        description="Cannot-link two records; their entity is cut along its weakest evidence at once.",
    )
    async def split_records(
        self, info: strawberry.Info, a: RecordKeyInput, b: RecordKeyInput, reason: str
    ) -> OverrideResultNode:
        return await _override(info, "split", _key(a.source, a.source_id), _key(b.source, b.source_id), reason)

    @strawberry.mutation(
        permission_classes=[CanSteward], description="Withdraw an override (kept on record); re-resolves at once."
    )
    async def remove_override(self, info: strawberry.Info, id: strawberry.ID, reason: str) -> OverrideResultNode:
        return await _override(info, "remove_override", str(id), reason)

    @strawberry.mutation(permission_classes=[CanAdmin], description="Create an API key; the key is shown only here.")
    async def create_api_key(self, info: strawberry.Info, name: str, role: Role) -> CreatedApiKeyNode:
        try:
            plaintext, record = await ctx(info).gateway.call(lambda s: auth.create_key(s, name, role.value))
        except auth.KeyError_ as exc:
            raise bad_input(str(exc)) from None
        return CreatedApiKeyNode(key=plaintext, api_key=ApiKeyNode.of(record))

    @strawberry.mutation(permission_classes=[CanAdmin], description="Revoke an API key; it stops working at once.")
    async def revoke_api_key(self, info: strawberry.Info, id: strawberry.ID) -> ApiKeyNode:
        context = ctx(info)
        revoked = await context.gateway.call(lambda s: auth.revoke_key(s, str(id)))
        if revoked is None:
            raise not_found(f"no active API key {id}")
        context.keys.forget(revoked.id)
        return ApiKeyNode.of(revoked)


class EntityStoreSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Log unexpected errors with their traceback; expected ones (NOT_FOUND...) are not errors."""
        log_errors(errors)


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    limits = limits or Limits()
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
        MaxIntrospectionDepthRule,
    ]
    return EntityStoreSchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(relay_max_results=MAX_PAGE),
        # Factories, not instances: an extension keeps the request's execution context on
        # itself, so a shared instance would let concurrent requests read each other's
        # results (and mask the wrong errors). The two caches share their lru by maxsize;
        # the validation rules are built once because that cache is keyed by them.
        extensions=[
            CodedErrors,
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: AddValidationRules(rules),
            lambda: QueryCostLimiter(max_cost=limits.max_cost),
        ],
    )


__all__ = ["build_schema", "Query", "Mutation", "Code", "ApiError"]
