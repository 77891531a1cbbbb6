"""Source mappings: one YAML file per source says how its rows become Records.

A mapping names the source, its file format, the ID column, the attribute columns
(with optional types), the identifier columns with their evidence kind, which
attribute says how fresh a row is, and per-source normalization knobs. It is validated
with pydantic; a mistake is reported as one line naming the file, the field and what
was expected (`MappingError`).

Column names are header names for CSV and keys for JSONL, where a dotted path
(`traits.email`) reaches into nested objects.

The mappings for the five sample sources (`crm`, `billing`, `support`, `product`,
`marketing`) ship in `loaders/mappings/<source>.yaml`; `sample_mapping(name)` loads one.
"""

from __future__ import annotations

import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import normalize as N

SAMPLE_SOURCES = ("crm", "billing", "support", "product", "marketing")

# Attribute names with a normalized comparison value in Record.norm (see loaders/README.md).
NORM_ATTRIBUTES = (
    "first_name", "last_name", "full_name", "company", "title", "address", "postcode", "city",
    "country", "parent_payment_entity",
)
BUILTIN_KINDS = ("email", "domain", "payment_entity", "device_id", "user_id", "phone")
RULES = ("email", "domain", "phone", "opaque")
_NAME = r"^[a-z][a-z0-9_]*$"
_REGION = r"^[A-Z]{2}$"


class MappingError(ValueError):
    """A mapping that cannot be used; the message is one line: file, field, expectation."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttributeSpec(_Strict):
    """One attribute column. `type` other than string is checked on every row (a value
    that does not parse quarantines the row); the original text is what `attrs` keeps."""

    column: str = Field(min_length=1)
    type: Literal["string", "int", "float", "bool", "date", "datetime"] = "string"
    format: str | None = None  # strptime format for date/datetime columns
    multi: bool = False
    separator: str = Field(";", min_length=1)
    required: bool = False


class IdentifierSpec(_Strict):
    """One identifier column and the evidence kind its values are.

    `required`: a row whose value is missing, junk or malformed is quarantined instead
    of loaded. `domain_from_email` (email kinds): also emit the address's registrable
    domain as `domain` evidence, unless it is a consumer/non-account domain.
    `rule` picks the normalization for custom kinds (default: email, domain and phone
    kinds use their own rule, every other kind is an opaque ID)."""

    column: str = Field(min_length=1)
    kind: Annotated[str, Field(pattern=_NAME)]
    name: Annotated[str, Field(pattern=_NAME)] | None = None
    multi: bool = False
    separator: str = Field(";", min_length=1)
    required: bool = False
    domain_from_email: bool = True
    rule: Literal["email", "domain", "phone", "opaque"] | None = None

    @property
    def field_name(self) -> str:
        return self.name or re.sub(r"[^a-z0-9_]", "_", self.column.lower())

    @property
    def effective_rule(self) -> str:
        if self.rule:
            return self.rule
        return self.kind if self.kind in ("email", "domain", "phone") else "opaque"


class NormalizeSpec(_Strict):
    """Per-source normalization knobs; lists extend the shipped defaults."""

    default_region: Annotated[str, Field(pattern=_REGION)] | None = "US"
    region_from: str | None = None  # an attribute holding the row's country
    junk_ids: list[str] = []
    non_account_domains: list[str] = []
    email_strip_plus: list[str] = []
    email_strip_dots: list[str] = []
    email_domain_aliases: dict[str, str] = {}

    def config(self) -> N.NormalizeConfig:
        return N.NormalizeConfig(
            default_region=self.default_region,
            junk_ids=N.merged(N.DEFAULT_JUNK_IDS, self.junk_ids),
            non_account_domains=N.merged(N.CONSUMER_DOMAINS, self.non_account_domains),
            email_strip_plus=N.merged((), self.email_strip_plus),
            email_strip_dots=N.merged((), self.email_strip_dots),
            email_domain_aliases={k.lower(): v.lower() for k, v in self.email_domain_aliases.items()},
        )


class SourceMapping(_Strict):
    """How one source's export becomes Records."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    name: Annotated[str, Field(pattern=_NAME)]
    description: str = ""
    format: Literal["csv", "jsonl", "parquet"]
    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    id_column: str = Field(min_length=1)
    updated_at: str | None = None
    attributes: dict[Annotated[str, Field(pattern=_NAME)], AttributeSpec] = {}
    identifiers: list[IdentifierSpec] = []
    normalize: NormalizeSpec = NormalizeSpec()

    @field_validator("attributes", mode="before")
    @classmethod
    def _column_shorthand(cls, value: Any) -> Any:
        # `first_name: FirstName` is short for `first_name: {column: FirstName}`
        if isinstance(value, dict):
            return {k: {"column": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown text encoding {value!r}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SourceMapping:
        if self.updated_at is not None:
            spec = self.attributes.get(self.updated_at)
            if spec is None:
                raise ValueError(f"updated_at names {self.updated_at!r}, which is not one of the attributes")
            if spec.type not in ("datetime", "date"):
                raise ValueError(f"updated_at attribute {self.updated_at!r} must have type datetime or date")
        rf = self.normalize.region_from
        if rf is not None and rf not in self.attributes:
            raise ValueError(f"normalize.region_from names {rf!r}, which is not one of the attributes")
        names = [i.field_name for i in self.identifiers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"identifier names must be unique, {', '.join(dupes)} repeat (set `name:`)")
        return self

    @cached_property
    def norm_config(self) -> N.NormalizeConfig:
        return self.normalize.config()

    def columns(self) -> list[str]:
        """Every column the mapping reads (the ID first), without repeats."""
        cols = [self.id_column, *(a.column for a in self.attributes.values()), *(i.column for i in self.identifiers)]
        return list(dict.fromkeys(cols))


_PATTERNS = {
    _NAME: "expected a lowercase name (letters, digits, _), starting with a letter",
    _REGION: "expected a two-letter ISO country code in capitals, like US or DE",
}


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("function-after",))
    msg = err.get("msg", "invalid").removeprefix("Value error, ")
    if err.get("type") == "literal_error":
        msg = f"expected {err.get('ctx', {}).get('expected', 'one of the allowed values')}"
    elif err.get("type") == "missing":
        msg = "required field is missing"
    elif err.get("type") == "extra_forbidden":
        msg = "unknown field (check the spelling)"
    elif err.get("type") == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern")
        msg = _PATTERNS.get(pattern, f"expected text matching {pattern}")
    got = err.get("input")
    if err.get("type") not in ("missing",) and isinstance(got, (str, int, float)) and loc and repr(got) not in msg:
        msg += f" (got {got!r})"
    return f"{loc}: {msg}" if loc else msg


def parse_mapping(data: Any, origin: str = "<mapping>") -> SourceMapping:
    """Validate an already-parsed mapping; errors name `origin`, the field and the expectation."""
    if not isinstance(data, dict):
        raise MappingError(f"{origin}: expected a YAML mapping with name, format, id_column..., got {type(data).__name__}")
    try:
        return SourceMapping.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise MappingError(f"{origin}: {_describe(first)}{more}") from None


def load_mapping(path_or_name: str | Path | SourceMapping) -> SourceMapping:
    """A mapping from a YAML file, or a shipped sample mapping by its source name."""
    if isinstance(path_or_name, SourceMapping):
        return path_or_name
    text_path = str(path_or_name)
    if text_path in SAMPLE_SOURCES and not Path(text_path).exists():
        return sample_mapping(text_path)
    path = Path(path_or_name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(
            f"{path}: mapping file not found (expected a YAML file or a sample source: {', '.join(SAMPLE_SOURCES)})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: cannot read mapping ({exc})") from None
    return _from_yaml(text, str(path))


def _from_yaml(text: str, origin: str) -> SourceMapping:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MappingError(f"{origin}:{where} not valid YAML ({problem})") from None
    return parse_mapping(data, origin)


def sample_mapping(source: str) -> SourceMapping:
    """The shipped mapping of one of the five sample sources."""
    if source not in SAMPLE_SOURCES:
        raise MappingError(f"no shipped mapping for {source!r}; expected one of {', '.join(SAMPLE_SOURCES)}")
    res = resources.files("loaders").joinpath("mappings", f"{source}.yaml")
    return _from_yaml(res.read_text(encoding="utf-8"), f"loaders/mappings/{source}.yaml")


def sample_mapping_path(source: str) -> Path:
    return Path(str(resources.files("loaders").joinpath("mappings", f"{source}.yaml")))
