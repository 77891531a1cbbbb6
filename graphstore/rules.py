"""Resolution rules as data: validated, versioned, and the one place hub guards live.

Rules are YAML checked by pydantic, so a typo is an error naming the file and the
field, not a silently different clustering. The version every run records is the
declared `version` plus a short hash of the file's content: editing the rules without
bumping the version still yields a new version string.
"""

from __future__ import annotations

import fnmatch
import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .config import load_versioned

PERSON_LEVEL = "person"
ACCOUNT_LEVEL = "account"


@lru_cache(maxsize=64)
def _denied(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """A kind's deny patterns as one regex (fnmatch's own translation of each): a full run
    asks about every identifier, and ten fnmatch calls per email cost ~2 s at 1M records."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns)) if patterns else None


class RulesError(ValueError):
    """Rules that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceRule(_Strict):
    """How much a shared identifier of one kind counts, and when it is a hub."""

    level: Literal["person", "account"]
    weight: float = Field(ge=0)
    max_degree: int | None = Field(default=None, ge=2)
    deny: tuple[str, ...] = ()
    # Account-level only: an identifier whose records carry more than this many distinct
    # corporate domains is an intermediary (a reseller or payment processor paying for
    # many companies), not one company's evidence; it is kept but never groups accounts.
    max_domains: int | None = Field(default=None, ge=1)


class Comparison(_Strict):
    """A named attribute comparison (Splink-style catalogue entry)."""

    name: str
    method: Literal["jaro_winkler", "token_set_ratio", "ratio", "exact"]
    fields: tuple[str, ...] = Field(min_length=1)
    at: float = Field(default=1.0, gt=0, le=1)
    weight: float = Field(ge=0)
    needs_corroboration: bool = True


class BlockingKey(_Strict):
    name: str
    parts: tuple[str, ...] = Field(min_length=1)


class Blocking(_Strict):
    max_block_size: int = Field(default=60, ge=2)
    keys: tuple[BlockingKey, ...] = ()


class AccountRules(_Strict):
    evidence: tuple[str, ...] = ("domain", "payment_entity")
    parent_attribute: str = "parent_payment_entity"
    parent_kind: str = "payment_entity"
    domain_parents: dict[str, str] = Field(default_factory=dict)


class Rules(_Strict):
    """The whole rule set. `rule_version` is what MATCHED edges and history carry."""

    version: str
    threshold: float = Field(gt=0)
    near_miss_margin: float = Field(default=0.4, ge=0)
    evidence: dict[str, EvidenceRule]
    comparisons: tuple[Comparison, ...] = ()
    blocking: Blocking = Blocking()
    accounts: AccountRules = AccountRules()
    content_hash: str = ""

    @field_validator("evidence")
    @classmethod
    def _some_person_evidence(cls, v: dict[str, EvidenceRule]) -> dict[str, EvidenceRule]:
        if not any(r.level == PERSON_LEVEL for r in v.values()):
            raise ValueError("at least one evidence kind must have level: person")
        return v

    @model_validator(mode="after")
    def _accounts_use_known_kinds(self) -> Rules:
        unknown = [k for k in self.accounts.evidence if k not in self.evidence]
        if unknown:
            raise ValueError(f"accounts.evidence names kinds not under evidence: {', '.join(unknown)}")
        return self

    @cached_property
    def rule_version(self) -> str:
        return f"{self.version}+{self.content_hash[:8]}" if self.content_hash else self.version

    @property
    def near_miss_floor(self) -> float:
        return self.threshold - self.near_miss_margin

    @cached_property
    def person_kinds(self) -> frozenset[str]:
        return frozenset(k for k, r in self.evidence.items() if r.level == PERSON_LEVEL)

    @cached_property
    def account_kinds(self) -> frozenset[str]:
        return frozenset(self.accounts.evidence)

    def guard(self, kind: str, value: str, degree: int) -> str | None:
        """Why an identifier may not be used to merge (None when it may).

        This is the single definition of a hub: the resolver, the explanation and the
        API's `hub` flag all ask here.
        """
        rule = self.evidence.get(kind)
        if rule is None:
            return f"kind {kind!r} is not evidence under rules {self.rule_version}"
        denied = _denied(rule.deny)
        if denied is not None and denied.match(value):
            pattern = next(p for p in rule.deny if fnmatch.fnmatchcase(value, p))  # the first, as named in the rules
            return f"hub: value matches deny pattern {pattern!r}"
        if rule.max_degree is not None and degree > rule.max_degree:
            return f"hub: shared by {degree} records (more than {rule.max_degree})"
        return None

    def spread_guard(self, kind: str, domains: int) -> str | None:
        """Why an account-level identifier spanning `domains` corporate domains may not
        group accounts (None when it may). Degree alone cannot tell a reseller from a big
        customer at every data size; the number of unrelated companies behind it can."""
        rule = self.evidence.get(kind)
        if rule is None or rule.max_domains is None or domains <= rule.max_domains:
            return None
        return f"hub: its records carry {domains} corporate domains (more than {rule.max_domains})"

    def is_hub(self, kind: str, value: str, degree: int) -> bool:
        return kind in self.evidence and self.guard(kind, value, degree) is not None


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules at `path`, or the shipped default rules."""
    return load_versioned(path, "rules.yaml", Rules, RulesError, "rules")
