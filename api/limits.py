"""Request limits: how deep, how long, how costly a query may be, and how long it may run.

Depth, tokens and aliases use strawberry's own extensions; what strawberry does not
ship is a cost limit, so `QueryCostLimiter` estimates the number of values a query
can produce (each connection multiplies its sub-selection by its page size, and
`resolveMany` by its number of keys) and refuses the query before it touches the
store when the estimate exceeds `max_cost`. Variables are taken into account, which is
why this runs at execution start rather than as a validation rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionResult as GraphQLExecutionResult,
)
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql.language import IntValueNode
from strawberry.extensions import SchemaExtension

from .errors import Code
from .pagination import DEFAULT_PAGE, MAX_PAGE


@dataclass(frozen=True)
class Limits:
    """Every per-request ceiling in one place; `create_app(limits=...)` overrides them."""

    max_depth: int = 10
    # Tokens bound parsing work; 12k leaves room for resolveMany(1000) written inline
    # (variables do not count as tokens and are the better way to send keys).
    max_tokens: int = 12_000
    max_aliases: int = 30
    max_cost: int = 25_000
    max_keys: int = 1_000
    timeout_s: float = 15.0


class QueryCostLimiter(SchemaExtension):
    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and ctx.result is None:
            problem = None
            try:
                cost = estimate_cost(ctx.schema._schema, document.definitions, ctx.operation_name, ctx.variables or {})
            except PageTooLarge as exc:
                problem = str(exc)
            else:
                if cost > self.max_cost:
                    problem = (
                        f"query cost {cost:,} exceeds the limit of {self.max_cost:,}; ask for smaller pages"
                        " or fewer fields"
                    )
            if problem is not None:
                ctx.result = GraphQLExecutionResult(
                    data=None, errors=[GraphQLError(problem, extensions={"code": Code.LIMIT_EXCEEDED.value})]
                )
        yield


class PageTooLarge(ValueError):
    """A connection asked for more than MAX_PAGE items: refused before any resolver runs."""


def estimate_cost(
    schema: GraphQLSchema, definitions: Any, operation_name: str | None, variables: Mapping[str, Any]
) -> int:
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if not operations:
        return 0
    op = operations[0]
    root = schema.get_root_type(op.operation)
    if root is None:
        return 0
    return _selection_cost(op.selection_set, root, 1, fragments, variables, frozenset())


def _selection_cost(
    selection_set: SelectionSetNode | None,
    parent: Any,
    multiplier: int,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    seen: frozenset[str],
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            name = sel.name.value
            if name.startswith("__"):
                continue
            total += multiplier
            fields = getattr(parent, "fields", None)
            if not fields or name not in fields:
                continue
            field_type = fields[name].type
            child_type = get_named_type(field_type)
            if not isinstance(child_type, GraphQLObjectType) and not hasattr(child_type, "fields"):
                continue
            total += _selection_cost(
                sel.selection_set,
                child_type,
                multiplier * _fan_out(sel, field_type, child_type.name, variables),
                fragments,
                variables,
                seen,
            )
        elif isinstance(sel, InlineFragmentNode):
            target = parent
            total += _selection_cost(sel.selection_set, target, multiplier, fragments, variables, seen)
        elif isinstance(sel, FragmentSpreadNode):
            frag_name = sel.name.value
            frag = fragments.get(frag_name)
            if frag is None or frag_name in seen:  # validation reports these
                continue
            total += _selection_cost(frag.selection_set, parent, multiplier, fragments, variables, seen | {frag_name})
    return total


def _arg(node: FieldNode, name: str, variables: Mapping[str, Any]) -> Any:
    for arg in node.arguments or ():
        if arg.name.value != name:
            continue
        value = arg.value
        if isinstance(value, VariableNode):
            return variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, ListValueNode):
            return list(value.values)
        return None
    return None


def _fan_out(node: FieldNode, field_type: Any, type_name: str, variables: Mapping[str, Any]) -> int:
    """How many children one value of this field can have."""
    if type_name.endswith("Connection"):
        size = _arg(node, "first", variables)
        if size is None:
            size = _arg(node, "last", variables)
        if isinstance(size, int) and size > MAX_PAGE:
            raise PageTooLarge(f"'{node.name.value}' asks for {size} items; pages hold at most {MAX_PAGE} items")
        return max(1, size) if isinstance(size, int) else DEFAULT_PAGE
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if isinstance(inner, GraphQLList):
        keys = _arg(node, "keys", variables)
        if isinstance(keys, list):
            return max(1, len(keys))
        return 10  # an unpaged list (children, aliases, evidence items): small by design
    return 1
