"""Export for warehouses and BI: entities with golden attributes, memberships, hierarchy, aliases.

Four tables, one file each in the chosen format (csv, jsonl or parquet):

- entities:    one row per live entity: id, kind, display name, account / parent,
               the golden value and winning source of every golden attribute, and the
               full provenance (rule, record, time, alternatives) as JSON;
- memberships: source, source id, record key -> person entity id;
- hierarchy:   person -> account (belongs_to), account -> parent account (child_of);
- aliases:     merged-away id -> the live entity id it resolves to.

The export streams: it walks entities a page at a time and writes each page before
reading the next, so memory stays flat however large the store. Files are written
under a temporary name and renamed when complete, so a failed export never leaves a
half-written file that looks finished.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .golden import golden_with_members
from .model import ACCOUNT, PERSON, split_record_key
from .store import GraphStore
from .survivorship import Survivorship

FORMATS = ("csv", "jsonl", "parquet")
PAGE_SIZE = 2000

Progress = Callable[[str], None]


class ExportError(ValueError):
    """An export that cannot run (bad format, unusable directory, missing pyarrow)."""


def entity_columns(config: Survivorship) -> list[tuple[str, str]]:
    """The entities table's columns as (name, type); type is "string" or "int"."""
    cols = [("entity_id", "string"), ("kind", "string"), ("display_name", "string"), ("member_records", "int"),
            ("account_id", "string"), ("parent_id", "string"), ("golden_version", "string")]
    for name in config.attribute_names:
        cols += [(name, "string"), (f"{name}_source", "string")]
    cols.append(("golden", "json"))
    return cols


TABLES: dict[str, list[tuple[str, str]]] = {
    "memberships": [("source", "string"), ("source_id", "string"), ("record_key", "string"), ("entity_id", "string")],
    "hierarchy": [("child_id", "string"), ("child_kind", "string"), ("parent_id", "string"), ("relation", "string")],
    "aliases": [("alias_id", "string"), ("entity_id", "string")],
}


# -- writers ------------------------------------------------------------------------------------
class _Writer(Protocol):
    def write(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def close(self) -> None: ...


class _CsvWriter:
    def __init__(self, path: Path, columns: list[tuple[str, str]]) -> None:
        self._file = path.open("w", encoding="utf-8", newline="")
        self._json = [n for n, t in columns if t == "json"]
        self._csv = csv.DictWriter(self._file, fieldnames=[n for n, _ in columns])
        self._csv.writeheader()

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if self._json:
                row = {**row, **{k: json.dumps(row[k], ensure_ascii=False, sort_keys=True) for k in self._json}}
            self._csv.writerow(row)

    def close(self) -> None:
        self._file.close()


class _JsonlWriter:
    def __init__(self, path: Path, columns: list[tuple[str, str]]) -> None:
        self._file = path.open("w", encoding="utf-8")
        self._names = [n for n, _ in columns]

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self._file.write(json.dumps({n: row.get(n) for n in self._names}, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._file.close()


def require_pyarrow() -> Any:
    """pyarrow's parquet module, or a one-line ExportError saying how to install it."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError(
            "--format parquet needs pyarrow, which is not installed: pip install 'entitystore[parquet]' "
            "(or pip install pyarrow), or use --format csv / jsonl"
        ) from None
    return pq


class _ParquetWriter:
    def __init__(self, path: Path, columns: list[tuple[str, str]]) -> None:
        import pyarrow as pa

        pq = require_pyarrow()
        self._pa = pa
        self._json = [n for n, t in columns if t == "json"]
        self._schema = pa.schema([(n, pa.int64() if t == "int" else pa.string()) for n, t in columns])
        self._writer = pq.ParquetWriter(str(path), self._schema)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._json:
            rows = [{**r, **{k: json.dumps(r[k], ensure_ascii=False, sort_keys=True) for k in self._json}} for r in rows]
        self._writer.write_table(self._pa.Table.from_pylist(list(rows), schema=self._schema))

    def close(self) -> None:
        self._writer.close()


_WRITERS: dict[str, Callable[[Path, list[tuple[str, str]]], _Writer]] = {
    "csv": _CsvWriter, "jsonl": _JsonlWriter, "parquet": _ParquetWriter,
}


# -- the export ---------------------------------------------------------------------------------
@dataclass
class ExportSummary:
    out_dir: Path
    format: str
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def prepare_dir(out_dir: str | Path, fmt: str) -> Path:
    """Check the format and make the output directory; a problem is an ExportError."""
    if fmt not in FORMATS:
        raise ExportError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "parquet":
        require_pyarrow()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"OUT_DIR {out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"OUT_DIR {out}: cannot create it ({exc.strerror})") from None
    return out


def export(
    store: GraphStore,
    out_dir: str | Path,
    fmt: str,
    config: Survivorship,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write entities, memberships, hierarchy and aliases to `out_dir` as `<table>.<fmt>`."""
    out = prepare_dir(out_dir, fmt)
    columns = {"entities": entity_columns(config), **TABLES}
    summary = ExportSummary(out, fmt, rows={t: 0 for t in columns})
    partial = {t: out / f".{t}.{fmt}.partial" for t in columns}
    writers: dict[str, _Writer] = {}
    try:
        for t, cols in columns.items():
            writers[t] = _WRITERS[fmt](partial[t], cols)
        for kind in (PERSON, ACCOUNT):
            after: str | None = None
            while True:
                page = store.list_entities(kind=kind, after=after, limit=page_size)
                if not page:
                    break
                after = page[-1].id
                tables = _page_rows(store, page, kind, config)
                for t, rows in tables.items():
                    writers[t].write(rows)
                    summary.rows[t] += len(rows)
                if progress:
                    progress(f"exported {summary.rows['entities']:,} entities")
    except BaseException:
        for w in writers.values():
            try:
                w.close()
            except Exception:  # noqa: BLE001 - the original error matters, not this one
                pass
        for p in partial.values():
            p.unlink(missing_ok=True)
        raise
    for t, w in writers.items():
        w.close()
        final = out / f"{t}.{fmt}"
        partial[t].replace(final)
        summary.files[t] = final
    return summary


def _page_rows(store: GraphStore, page: list[Any], kind: str, config: Survivorship) -> dict[str, list[dict[str, Any]]]:
    ids = [e.id for e in page]
    golden, members = golden_with_members(store, page, config)
    if kind == PERSON:
        up = store.accounts_of(ids)
        relation = "belongs_to"
    else:
        up = store.parents_of(ids)
        relation = "child_of"
    aliases = store.aliases_of(ids)
    entities, memberships, hierarchy, alias_rows = [], [], [], []
    for e in page:
        g = golden[e.id]
        row: dict[str, Any] = {
            "entity_id": e.id, "kind": e.kind, "display_name": _display(e.attrs),
            "member_records": len(members.get(e.id, ())),
            "account_id": up.get(e.id) if kind == PERSON else None,
            "parent_id": up.get(e.id) if kind == ACCOUNT else None,
            "golden_version": g.version,
        }
        for name in config.attribute_names:
            v = g.attributes.get(name)
            row[name] = v.value if v else None
            row[f"{name}_source"] = v.source if v else None
        row["golden"] = {k: v.to_dict() for k, v in g.attributes.items()}
        entities.append(row)
        if kind == PERSON:
            for key in members.get(e.id, ()):
                source, source_id = split_record_key(key)
                memberships.append({"source": source, "source_id": source_id, "record_key": key, "entity_id": e.id})
        if e.id in up:
            hierarchy.append({"child_id": e.id, "child_kind": kind, "parent_id": up[e.id], "relation": relation})
        for alias in aliases.get(e.id, ()):
            alias_rows.append({"alias_id": alias, "entity_id": e.id})
    return {"entities": entities, "memberships": memberships, "hierarchy": hierarchy, "aliases": alias_rows}


def _display(attrs: dict[str, Any]) -> str | None:
    name = attrs.get("name") or next(iter(attrs.get("domains") or ()), None)
    return str(name) if name is not None else None
