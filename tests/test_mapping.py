"""Source mappings: the shipped ones are valid, and every mistake is one line naming
the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loaders.mapping import (
    SAMPLE_SOURCES,
    MappingError,
    SourceMapping,
    load_mapping,
    parse_mapping,
    sample_mapping,
    sample_mapping_path,
)

BASE: dict[str, Any] = {"name": "shop", "format": "csv", "id_column": "Id"}


@pytest.mark.parametrize("source", SAMPLE_SOURCES)
def test_shipped_mappings_are_valid(source: str) -> None:
    m = sample_mapping(source)
    assert m.name == source
    assert m.columns()[0] == m.id_column
    assert len(m.columns()) == len(set(m.columns()))
    assert load_mapping(sample_mapping_path(source)) == m  # by path and by name alike
    assert load_mapping(source) == m


def test_billing_requires_a_payment_entity() -> None:
    spec = {i.kind: i for i in sample_mapping("billing").identifiers}["payment_entity"]
    assert spec.required and spec.effective_rule == "opaque"


def test_attribute_shorthand_and_identifier_defaults() -> None:
    m = parse_mapping({**BASE, "attributes": {"first_name": "First"},
                       "identifiers": [{"column": "E-Mail", "kind": "email"}, {"column": "Dev", "kind": "device_id"}]})
    assert m.attributes["first_name"].column == "First" and m.attributes["first_name"].type == "string"
    email, dev = m.identifiers
    assert email.field_name == "e_mail" and email.effective_rule == "email" and email.domain_from_email
    assert dev.effective_rule == "opaque"
    assert m.columns() == ["Id", "First", "E-Mail", "Dev"]


def test_normalize_lists_extend_the_defaults() -> None:
    m = parse_mapping({**BASE, "normalize": {"junk_ids": ["XXX"], "non_account_domains": ["Acme.com"]}})
    cfg = m.norm_config
    assert "xxx" in cfg.junk_ids and "unknown" in cfg.junk_ids
    assert "acme.com" in cfg.non_account_domains and "gmail.com" in cfg.non_account_domains


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"format": "xml"}, "m.yaml: format: expected 'csv', 'jsonl' or 'parquet' (got 'xml')"),
        ({"id_column": None}, "m.yaml: id_column: "),
        ({"colour": "red"}, "m.yaml: colour: unknown field (check the spelling)"),
        ({"name": "Bad Name"}, "m.yaml: name: expected a lowercase name"),
        ({"attributes": {"x": {"column": "X", "type": "money"}}},
         "m.yaml: attributes.x.type: expected 'string', 'int', 'float', 'bool', 'date' or 'datetime' (got 'money')"),
        ({"updated_at": "nope"}, "m.yaml: updated_at names 'nope', which is not one of the attributes"),
        ({"attributes": {"x": "X"}, "updated_at": "x"}, "m.yaml: updated_at attribute 'x' must have type datetime or date"),
        ({"encoding": "klingon"}, "m.yaml: encoding: unknown text encoding 'klingon'"),
        ({"identifiers": [{"column": "E", "kind": "email"}, {"column": "E", "kind": "email"}]},
         "m.yaml: identifier names must be unique, e repeat"),
        ({"identifiers": [{"column": "E", "kind": "Email"}]}, "m.yaml: identifiers.0.kind: expected a lowercase name"),
        ({"normalize": {"default_region": "usa"}},
         "m.yaml: normalize.default_region: expected a two-letter ISO country code in capitals"),
        ({"normalize": {"region_from": "country"}}, "m.yaml: normalize.region_from names 'country'"),
        ({"delimiter": ";;"}, "m.yaml: delimiter: "),
    ],
)
def test_mapping_errors_name_file_field_and_expectation(change: dict[str, Any], expected: str) -> None:
    data = {**BASE, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(MappingError) as err:
        parse_mapping(data, "m.yaml")
    msg = str(err.value)
    assert msg.startswith(expected), msg
    assert "\n" not in msg


def test_missing_field_message() -> None:
    with pytest.raises(MappingError, match=r"^m.yaml: id_column: required field is missing$"):
        parse_mapping({"name": "shop", "format": "csv"}, "m.yaml")


def test_several_errors_are_counted_in_one_line() -> None:
    with pytest.raises(MappingError, match=r"\(and 1 more\)$"):
        parse_mapping({"name": "shop"}, "m.yaml")


def test_not_a_mapping() -> None:
    with pytest.raises(MappingError, match="m.yaml: expected a YAML mapping"):
        parse_mapping([1, 2], "m.yaml")


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("name: shop\nformat: [csv\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"broken.yaml: line 3, column 1: not valid YAML"):
        load_mapping(p)


def test_missing_file_and_unknown_sample(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="nope.yaml: mapping file not found"):
        load_mapping(tmp_path / "nope.yaml")
    with pytest.raises(MappingError, match="no shipped mapping for 'erp'"):
        sample_mapping("erp")


def test_mapping_file_roundtrip(tmp_path: Path) -> None:
    p = tmp_path / "shop.yaml"
    p.write_text(
        "name: shop\nformat: csv\ndelimiter: ';'\nid_column: Id\nupdated_at: changed\n"
        "attributes:\n  changed: {column: Changed, type: datetime}\n"
        "identifiers:\n  - {column: Mail, kind: email, required: true}\n",
        encoding="utf-8",
    )
    m = load_mapping(p)
    assert isinstance(m, SourceMapping)
    assert m.delimiter == ";" and m.updated_at == "changed" and m.identifiers[0].required
