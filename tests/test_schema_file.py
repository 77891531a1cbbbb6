"""The checked-in `schema.graphql` is the schema the code serves, byte for byte."""

from __future__ import annotations

import difflib
from pathlib import Path

from api.export_schema import REGENERATE, SCHEMA_FILE, main, schema_sdl


def test_schema_graphql_is_in_sync_with_the_code() -> None:
    assert SCHEMA_FILE.exists(), f"{SCHEMA_FILE} is missing; create it with: {REGENERATE}"
    checked_in = SCHEMA_FILE.read_text(encoding="utf-8")
    expected = schema_sdl()
    if checked_in != expected:
        diff = "".join(
            list(difflib.unified_diff(
                checked_in.splitlines(keepends=True), expected.splitlines(keepends=True),
                fromfile="schema.graphql (checked in)", tofile="schema from api/schema.py",
            ))[:60]
        )
        raise AssertionError(
            f"schema.graphql is out of date with the GraphQL schema in api/.\n"
            f"Regenerate it with:  {REGENERATE}   (then commit schema.graphql)\n{diff}"
        )


def test_schema_file_names_every_root_operation() -> None:
    sdl = schema_sdl()
    for field in ("resolve(", "resolveMany(", "entity(", "explainMatch(", "record(", "identifier(",
                  "entities(", "search(", "auditLog(", "linkRecords(", "splitRecords(", "removeOverride("):
        assert f"  {field}" in sdl, field


def test_export_writes_and_check_detects_staleness(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    assert main(["--output", str(out), "--check"]) == 1  # missing counts as stale
    assert main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == schema_sdl()
    assert main(["--output", str(out), "--check"]) == 0
    out.write_text(schema_sdl().replace("resolveMany", "resolveLots"), encoding="utf-8")
    assert main(["--output", str(out), "--check"]) == 1


def test_schema_extensions_are_built_per_request() -> None:
    """An extension instance holds its request's execution context: sharing one across
    concurrent requests would let them read each other's results."""
    from strawberry.extensions import SchemaExtension

    from api.schema import build_schema

    schema = build_schema()
    assert schema.extensions and not any(isinstance(e, SchemaExtension) for e in schema.extensions)
    first, second = schema.get_extensions(), schema.get_extensions()
    assert len(first) == len(schema.extensions)
    assert all(a is not b for a, b in zip(first, second))
