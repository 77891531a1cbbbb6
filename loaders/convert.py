"""One raw row -> one Record: attributes kept as written, comparison values, evidence.

`Converter.convert` applies a mapping to a row's values. It raises `RowError` (the row
is quarantined with that reason) for a missing ID, a required value that is missing
or malformed, or a value that does not fit its column's type. A malformed value in an
optional column does not cost the row: the original stays in `attrs`, the value is
not used as evidence, and it is counted in the load summary's `invalid_values`.

`Record.norm` keys (what resolution compares): first_name, last_name, full_name
(name rule), company (legal forms stripped), title, address, city (name rule),
postcode (uppercase, no spaces), country (ISO alpha-2), email_domain (host of the first
email, consumer ones too) and parent_payment_entity (opaque-ID rule). full_name is
derived from first + last when the source has no full name, and first/last from a
full name ("Jane Q Doe", "Doe, Jane") when the source has only that.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from graphstore.jsontext import dumpb
from graphstore.model import EncodedRecord, Record, encoded_content_hash, record_key

from . import normalize as N
from .mapping import SourceMapping
from .readers import RawRow


# (source_id, attrs as JSON text, norm as JSON text, identifiers, updated_at, content hash)
Compact = tuple[str, str, str, list[tuple[str, str, str]], str | None, str]
Converted = tuple[int, "str | None", "Compact | str"]  # line, raw text (None: not sent, see parallel), compact record or quarantine reason


class RowError(ValueError):
    """Why a row cannot be loaded; becomes the quarantine reason."""


_BOOLS = frozenset({"true", "false", "1", "0", "yes", "no", "y", "n", "t", "f"})


def _text(value: Any) -> str:
    """A JSON value as the text the source would show: scalars as written, objects as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _check_type(spec_type: str, text: str, fmt: str | None) -> str | None:
    """Validate a typed value; returns the normalized timestamp for date/datetime."""
    t = text.strip()
    if spec_type == "int":
        int(t)
    elif spec_type == "float":
        float(t)
    elif spec_type == "bool":
        if t.lower() not in _BOOLS:
            raise ValueError
    elif spec_type in ("date", "datetime"):
        return N.timestamp(t, fmt)
    return None


def split_full_name(full: str) -> tuple[str, str]:
    """("jane q doe" -> jane, doe), ("doe, jane" -> jane, doe); one word is a last name."""
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip().split(" ")[0] if first.strip() else "", last.strip()
    parts = full.split(" ")
    if len(parts) == 1:
        return "", parts[0]
    return parts[0], parts[-1]


def compact_record(source: str, compact: Compact, batch_id: str | None, loaded_at: str | None) -> EncodedRecord:
    """The record of a `Converter.convert_compact` tuple, as converted here or sent back by a
    worker process, ready for `GraphStore.upsert_encoded`."""
    sid, attrs, norm, idents, updated_at, h = compact
    return EncodedRecord(record_key(source, sid), source, sid, attrs, norm, idents, updated_at, h, loaded_at, batch_id)


def convert_rows(converter: Converter, rows: Iterable[RawRow], as_bytes: bool = False) -> Iterator[Converted]:
    """Each row's outcome: its compact record, or why it is quarantined (a read error or
    a `RowError`). The one conversion loop of a load, in this process or a worker.
    `as_bytes`: attrs and norm as UTF-8 JSON bytes (`Converter.convert_bytes`), as a
    worker sends them."""
    convert = converter.convert_bytes if as_bytes else converter.convert_compact
    for row in rows:
        if row.values is None:
            yield row.line, row.raw, row.error or "unparsable line"
            continue
        try:
            yield row.line, row.raw, convert(row.values)
        except RowError as exc:
            yield row.line, row.raw, str(exc)


class Converter:
    """Applies one mapping to rows; holds the per-source normalization config."""

    def __init__(self, mapping: SourceMapping) -> None:
        self.mapping = mapping
        self.source = mapping.name
        self.cfg = mapping.norm_config
        self.id_column = mapping.id_column
        self.attr_plan = [
            (name, a.column, a.type, a.format, a.multi, a.separator, a.required) for name, a in mapping.attributes.items()
        ]
        self.idents = list(mapping.identifiers)
        # each identifier spec's settings read once (field_name and effective_rule are computed
        # properties): column, kind, multi, separator, required, rule, field, domain_from_email
        self.ident_plan = [
            (i.column, i.kind, i.multi, i.separator, i.required, i.effective_rule, i.field_name, i.domain_from_email)
            for i in self.idents
        ]
        self.updated_attr = mapping.updated_at
        self.region_from = mapping.normalize.region_from
        self.invalid: Counter[str] = Counter()

    def convert(self, values: dict[str, Any], batch_id: str | None = None, loaded_at: str | None = None) -> Record:
        return compact_record(self.source, self.convert_compact(values), batch_id, loaded_at).decoded()

    def convert_compact(self, values: dict[str, Any]) -> Compact:
        """The record as plain values (cheap to send between processes): (source_id, attrs
        and norm as JSON text, identifiers as (kind, value, field), updated_at, content hash)."""
        sid, attrs, norm, idents, updated_at, h = self.convert_bytes(values)
        return sid, attrs.decode(), norm.decode(), idents, updated_at, h

    def convert_bytes(self, values: dict[str, Any]) -> tuple[str, bytes, bytes, list[tuple[str, str, str]], str | None, str]:
        """`convert_compact` with attrs and norm as the UTF-8 bytes of their JSON text: a
        worker sends them as they are and the loading process decodes them (see parallel)."""
        raw_id = values.get(self.id_column)
        sid = N.clean(_text(raw_id)) if raw_id is not None else ""
        if not sid:
            raise RowError(f"missing id: column {self.id_column!r} is empty")
        attrs: dict[str, Any] = {}
        stamps: dict[str, str] = {}
        get = values.get
        for name, column, typ, fmt, multi, sep, required in self.attr_plan:
            raw = get(column)
            if multi:
                items = N.split_multi(raw, sep)
                if items:
                    attrs[name] = items
                elif required:
                    raise RowError(f"missing required value: column {column!r} is empty")
                continue
            text = raw if type(raw) is str else _text(raw)
            if not text or text.isspace():
                if required:
                    raise RowError(f"missing required value: column {column!r} is empty")
                continue
            attrs[name] = text
            if typ != "string":
                try:
                    stamp = _check_type(typ, text, fmt)
                except (ValueError, N.NormalizationError):
                    expected = f"{typ} in format {fmt!r}" if fmt else typ
                    raise RowError(f"wrong type: column {column!r} expected {expected}, got {text.strip()[:80]!r}") from None
                if stamp is not None:
                    stamps[name] = stamp

        norm = self._norm(attrs)
        region = self.cfg.default_region
        if self.region_from and "country" in norm:
            region = norm["country"]
        identifiers: dict[tuple[str, str, str], None] = {}
        first_email: str | None = None
        for column, kind, multi, separator, required, rule, fld, from_email in self.ident_plan:
            raw = get(column)
            if raw is None:
                items = []
            elif multi:
                items = N.split_multi(raw, separator)
            else:
                text = raw if type(raw) is str else _text(raw)
                items = [text] if text and not text.isspace() else []
            if items:
                attrs[fld] = items if multi else items[0]
            found = 0
            for item in items:
                found += self._identifier(kind, rule, fld, from_email, required, item, region, identifiers)
            if required and not found:
                if not items:
                    raise RowError(f"missing required value: column {column!r} ({kind}) is empty")
                raise RowError(f"malformed {kind}: column {column!r} has no usable value in {items[0][:80]!r}")
            if first_email is None and found and rule == "email":
                first_email = next((k[1] for k in identifiers if k[0] == kind), None)
        if first_email:
            norm["email_domain"] = N.email_domain(first_email)
        updated_at = stamps.get(self.updated_attr) if self.updated_attr else None
        idents = list(identifiers)
        attrs_text, norm_text = dumpb(attrs), dumpb(norm)
        h = encoded_content_hash(self.source, sid, attrs_text, norm_text, idents, updated_at)
        return sid, attrs_text, norm_text, idents, updated_at, h

    def _identifier(
        self, kind: str, rule: str, fld: str, domain_from_email: bool, required: bool, item: str, region: str | None,
        out: dict[tuple[str, str, str], None],
    ) -> int:
        """Add the identifier(s) one value of a spec (see `ident_plan`) yields; returns how many
        (0: junk or malformed)."""
        try:
            if rule == "email":
                value = N.email(item, self.cfg)
                out[(kind, value, fld)] = None
                if domain_from_email:
                    try:
                        domain = N.registrable_domain(N.email_domain(value))
                    except N.NormalizationError:
                        return 1
                    if domain not in self.cfg.non_account_domains:
                        out[("domain", domain, fld)] = None
                return 1
            if rule == "domain":
                domain = N.registrable_domain(item)
                if domain not in self.cfg.non_account_domains:
                    out[(kind, domain, fld)] = None
                return 1  # a consumer domain is a valid value, just not evidence
            if rule == "phone":
                value = N.phone(item, region)
            else:
                value = N.opaque_id(item, self.cfg)
                if value is None:
                    return 0
        except N.NormalizationError:
            if not required:
                self.invalid[fld] += 1
            return 0
        out[(kind, value, fld)] = None
        return 1

    def _norm(self, attrs: dict[str, Any]) -> dict[str, str]:
        norm: dict[str, str] = {}
        for key in ("first_name", "last_name", "full_name", "title", "address", "city"):
            v = attrs.get(key)
            if isinstance(v, str):
                n = N.name(v)
                if n:
                    norm[key] = n
        if "full_name" not in norm and ("first_name" in norm or "last_name" in norm):
            norm["full_name"] = " ".join(p for p in (norm.get("first_name"), norm.get("last_name")) if p)
        elif "full_name" in norm and "first_name" not in norm and "last_name" not in norm:
            first, last = split_full_name(norm["full_name"])
            if first:
                norm["first_name"] = first
            if last:
                norm["last_name"] = last
            if "," in norm["full_name"]:
                norm["full_name"] = " ".join(p for p in (first, last) if p)
        v = attrs.get("company")
        if isinstance(v, str):
            c = N.company(v)
            if c:
                norm["company"] = c
        v = attrs.get("postcode")
        if isinstance(v, str):
            pc = N.postcode(v)
            if pc:
                norm["postcode"] = pc
        v = attrs.get("country")
        if isinstance(v, str):
            try:
                norm["country"] = N.country(v)
            except N.NormalizationError:
                self.invalid["country"] += 1
        v = attrs.get("parent_payment_entity")
        if isinstance(v, str):
            pe = N.opaque_id(v, self.cfg)
            if pe:
                norm["parent_payment_entity"] = pe
        return norm
