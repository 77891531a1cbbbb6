"""GraphQL types of golden records: each attribute's surviving value with its provenance.

Shapes only: the values come from `graphstore.golden` through the request's `golden`
DataLoader, so a page of 100 entities asking for `golden` costs one batched
computation, not 100.

The shipped golden attributes are fields (`golden { name { value source } }`) so
clients get a typed schema; `attributes` lists every attribute the survivorship config
produced, including ones a deployment added to its own config.
"""

from __future__ import annotations

import strawberry

from graphstore.survivorship import Alternative, GoldenRecord, GoldenValue


@strawberry.type(name="GoldenAlternative", description="A conflicting value that lost, shown by its best record.")
class GoldenAlternativeNode:
    value: str
    source: str
    record: str = strawberry.field(description="The record key (SOURCE:ID) carrying it.")
    updated_at: str | None = strawberry.field(description="That record's own updated time in its source.")
    records: int = strawberry.field(description="How many member records carry this value.")

    @classmethod
    def of(cls, a: Alternative) -> GoldenAlternativeNode:
        return cls(value=a.value, source=a.source, record=a.record, updated_at=a.updated_at, records=a.records)


@strawberry.type(name="GoldenAttribute", description="One golden attribute: the value that survived, and why.")
class GoldenAttributeNode:
    attribute: str = strawberry.field(description="The attribute's name in the survivorship config.")
    value: str
    source: str = strawberry.field(description="The source system the value came from.")
    record: str = strawberry.field(description="The record key (SOURCE:ID) it came from.")
    updated_at: str | None = strawberry.field(description="That record's own updated time in its source.")
    rule: str = strawberry.field(
        description="What chose it: source_priority, most_recent, most_frequent, single_value (no conflict) "
        "or tiebreak (the rules left a tie; the smallest value won)."
    )
    records: int = strawberry.field(description="How many member records carry this value.")
    alternatives: list[GoldenAlternativeNode] = strawberry.field(description="The conflicting values that lost.")

    @classmethod
    def of(cls, name: str, v: GoldenValue) -> GoldenAttributeNode:
        return cls(
            attribute=name, value=v.value, source=v.source, record=v.record, updated_at=v.updated_at, rule=v.rule,
            records=v.records, alternatives=[GoldenAlternativeNode.of(a) for a in v.alternatives],
        )


def _attr(name: str, description: str) -> GoldenAttributeNode | None:
    def resolve(root: GoldenRecordNode) -> GoldenAttributeNode | None:
        v = root.model.attributes.get(name)
        return GoldenAttributeNode.of(name, v) if v else None

    return strawberry.field(resolver=resolve, description=description)  # type: ignore[return-value]


@strawberry.type(
    name="GoldenRecord",
    description="The entity's golden record under the survivorship config. Attributes no member record "
    "carries are null; person attributes are null on accounts and vice versa.",
)
class GoldenRecordNode:
    model: strawberry.Private[GoldenRecord]

    @strawberry.field(description="The survivorship config version (declared version + content hash).")
    def version(self) -> str:
        return self.model.version

    @strawberry.field(description="Every golden attribute present, in config order.")
    def attributes(self) -> list[GoldenAttributeNode]:
        return [GoldenAttributeNode.of(k, v) for k, v in self.model.attributes.items()]

    # persons (and accounts, where the name is the legal name)
    name: GoldenAttributeNode | None = _attr("name", "A person's full name; an account's legal name.")
    first_name: GoldenAttributeNode | None = _attr("first_name", "Person.")
    last_name: GoldenAttributeNode | None = _attr("last_name", "Person.")
    email: GoldenAttributeNode | None = _attr("email", "Person: normalized email.")
    phone: GoldenAttributeNode | None = _attr("phone", "Person: E.164 phone.")
    title: GoldenAttributeNode | None = _attr("title", "Person: job title.")
    company: GoldenAttributeNode | None = _attr("company", "Person: the company as the person's records name it.")
    address: GoldenAttributeNode | None = _attr("address", "Street address.")
    city: GoldenAttributeNode | None = _attr("city", "City.")
    postcode: GoldenAttributeNode | None = _attr("postcode", "Postcode.")
    country: GoldenAttributeNode | None = _attr("country", "ISO 3166 alpha-2 country code.")
    payment_status: GoldenAttributeNode | None = _attr("payment_status", "From billing only.")
    contact_status: GoldenAttributeNode | None = _attr("contact_status", "Person: from the CRM only.")
    marketing_consent: GoldenAttributeNode | None = _attr(
        "marketing_consent", "Person: contact preference (subscribed, unsubscribed, bounced), from marketing only."
    )
    owner: GoldenAttributeNode | None = _attr("owner", "The owner in the CRM, when the CRM exports one.")
    plan: GoldenAttributeNode | None = _attr("plan", "Person: product plan, from product analytics.")
    locale: GoldenAttributeNode | None = _attr("locale", "Person: from support.")
    # accounts
    domain: GoldenAttributeNode | None = _attr("domain", "Account: the corporate domain.")
    payment_entity: GoldenAttributeNode | None = _attr("payment_entity", "Account: the billing payment entity.")
    parent_payment_entity: GoldenAttributeNode | None = _attr("parent_payment_entity", "Account: billing's parent entity.")
    vat_number: GoldenAttributeNode | None = _attr("vat_number", "Account: from billing.")
    currency: GoldenAttributeNode | None = _attr("currency", "Account: billing currency.")
    crm_account_id: GoldenAttributeNode | None = _attr("crm_account_id", "Account: the CRM's account id.")
