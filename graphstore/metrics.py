"""The metrics contract: each source's own way of counting customers, as versioned data.

"The CRM says 487k, finance 452k": both are right by their own rule. The contract
writes those rules down (what a unit of counting is, per source, and which resolved
entity kind the count should be compared with) so the reconciliation can start from
exactly the number each team quotes. It also holds the exception-report policy
(critical attributes, staleness, required identifiers), because both are agreements
about what the data should look like, reviewed and versioned together.

Loaded like the resolution rules (`graphstore.config`): pydantic-validated YAML whose
errors name the file and field, versioned as `version+hash`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from .config import ConfigError, Strict, Versioned, load_versioned
from .model import Record

DEFAULT_FILE = "metrics.yaml"


class MetricsError(ConfigError):
    """A metrics contract that cannot be used; the message names the file and the field."""


class IdentifierUnit(Strict):
    """Distinct values of one identifier kind (optionally only from some source fields)."""

    by: Literal["identifier"]
    kind: str = Field(min_length=1)
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        where = f" from {', '.join(self.fields)}" if self.fields else ""
        return f"distinct {self.kind} identifiers{where}"

    def key_of(self, record: Record) -> str | None:
        values = [
            i.value for i in record.identifiers
            if i.kind == self.kind and (not self.fields or i.field in self.fields) and i.value
        ]
        return min(values) if values else None


class AttributeUnit(Strict):
    """Distinct non-empty values of one attribute (raw, or normalized)."""

    by: Literal["attribute"]
    name: str = Field(min_length=1)
    normalized: bool = False

    def describe(self) -> str:
        return f"distinct {'normalized ' if self.normalized else ''}{self.name} values"

    def key_of(self, record: Record) -> str | None:
        value = (record.norm if self.normalized else record.attrs).get(self.name)
        if isinstance(value, list):
            value = min((str(v).strip() for v in value if str(v).strip()), default=None)
        if value is None:
            return None
        text = str(value).strip()
        return text or None


class RecordUnit(Strict):
    """Every record is one unit: the source counts rows (profiles, leads)."""

    by: Literal["record"]

    def describe(self) -> str:
        return "distinct source ids (records)"

    def key_of(self, record: Record) -> str | None:
        return record.source_id


Unit = Annotated[IdentifierUnit | AttributeUnit | RecordUnit, Field(discriminator="by")]


class SourceMetric(Strict):
    """How one source counts customers and what its count should be compared with."""

    counts: str = Field(min_length=1)
    unit: Unit
    compare_to: Literal["person", "account"]


class ExceptionPolicy(Strict):
    """What the exception reports look for."""

    critical_attributes: tuple[str, ...] = ("full_name", "company", "country")
    stale_days: int = Field(default=730, ge=1)
    stale_days_by_source: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    required_identifiers: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def stale_days_for(self, source: str) -> int:
        return self.stale_days_by_source.get(source, self.stale_days)


class MetricsContract(Versioned):
    """The whole contract; `full_version` is what every reconciliation report carries."""

    reconciliation: dict[str, SourceMetric] = Field(min_length=1)
    exceptions: ExceptionPolicy = ExceptionPolicy()


def load_metrics(path: str | Path | None = None) -> MetricsContract:
    """The contract at `path`, or the shipped `graphstore/defaults/metrics.yaml`."""
    return load_versioned(path, DEFAULT_FILE, MetricsContract, MetricsError, "metrics contract")
