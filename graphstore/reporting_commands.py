"""CLI commands of the reports: `reconcile` and `exceptions`.

Thin: parse and check arguments, call `graphstore.reconcile` / `graphstore.exceptions`,
print rich tables or write CSV/JSON. A bad argument or config file is one line, exit 2.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .exceptions import KINDS, ExceptionItem, UnknownKind, exceptions
from .metrics import MetricsContract, MetricsError, load_metrics
from .reconcile import BREAKDOWN, Reconciliation, reconcile
from .resolve_commands import RulesOption, rules_from

FORMATS = ("table", "csv", "json")

MetricsOption = Annotated[
    str,
    typer.Option(
        "--metrics", envvar="ENTITYSTORE_METRICS", help="Metrics contract YAML (default: the shipped one).",
        show_default=False,
    ),
]


def _metrics_from(path: str) -> MetricsContract:
    from .cli import fail

    try:
        return load_metrics(path or None)
    except MetricsError as exc:
        fail(str(exc))


def _emit(text: str, out: str) -> None:
    """Write `text` to `out` (a file path) or stdout; an unwritable path is a one-line error."""
    from .cli import console, fail

    if not out:
        sys.stdout.write(text)
        return
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"option --out: cannot write {out} ({exc.strerror})")
    console.print(f"wrote {out}", highlight=False)


def reconciliation_csv(report: Reconciliation, detail: bool) -> str:
    """Lines (or, with `detail`, one row per drill-down record key) as CSV."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if detail:
        w.writerow(["source", "line", "unit", "entity_id", "record_key", "note"])
        for b in report.bridges:
            for ln in b.lines:
                for item in ln.items:
                    for key in item.record_keys or ("",):
                        w.writerow([b.source, ln.key, item.unit or "", item.entity_id or "", key, item.note or ""])
        return buf.getvalue()
    w.writerow(["source", "compare_to", "line", "label", "kind", "count"])
    for b in report.bridges:
        w.writerow([b.source, b.compare_to, "native", b.counts, "total", b.native])
        for ln in b.lines:
            if ln.key == "shared":
                w.writerow([b.source, b.compare_to, "reached", "entities reached by counted units", "total", b.reached])
            w.writerow([b.source, b.compare_to, ln.key, ln.label, ln.kind, ln.count])
        w.writerow([b.source, b.compare_to, "resolved", f"resolved {b.compare_to}s", "total", b.resolved])
    return buf.getvalue()


def reconciliation_table(report: Reconciliation) -> Table:
    """Sources as columns, bridge lines as rows: each column adds up top to bottom."""
    t = Table(
        title=f"reconciliation (contract {report.contract_version}, rules {report.rule_version}): "
        f"{report.persons:,} persons, {report.accounts:,} accounts from {report.records:,} records",
        header_style="bold",
    )
    # numbers never truncate; on a narrow terminal the labels wrap instead
    t.add_column("", ratio=1, overflow="fold")
    for b in report.bridges:
        t.add_column(f"{b.source}\n({b.compare_to}s)", justify="right", no_wrap=True, min_width=7)

    def row(label: str, values: list[Any], style: str | None = None) -> None:
        t.add_row(label, *[v if isinstance(v, str) else f"{v:+,}" for v in values], style=style)

    t.add_row("native count", *[f"{b.native:,}" for b in report.bridges], style="bold")
    first = report.bridges[0].lines if report.bridges else []
    for i, ln in enumerate(first):
        if ln.key == "shared":
            t.add_row("= reached by counted units", *[f"{b.reached:,}" for b in report.bridges], style="bold")
        if ln.kind == BREAKDOWN:
            t.add_row(f"    of which {ln.label}", *[f"{b.lines[i].count:,}" for b in report.bridges], style="dim")
        else:
            row(ln.label, [b.lines[i].count for b in report.bridges])
    t.add_row("= resolved count", *[f"{b.resolved:,}" for b in report.bridges], style="bold")
    t.caption = "  ".join(f"{b.source}: {b.counts}" for b in report.bridges)
    return t


def _exception_table(kind: str, items: list[ExceptionItem], limit: int) -> Table:
    t = Table(title=f"{kind}: {len(items):,}" + (f" (first {limit:,})" if len(items) > limit else ""))
    for col in ("key", "score", "summary", "entities", "records"):
        t.add_column(col, overflow="fold")
    for item in items[:limit]:
        records = ", ".join(item.record_keys[:4]) + (f" (+{len(item.record_keys) - 4})" if len(item.record_keys) > 4 else "")
        t.add_row(
            item.key, "" if item.score is None else f"{item.score:g}", item.summary, ", ".join(item.entity_ids), records
        )
    return t


def register(app: typer.Typer) -> None:
    from .cli import console, fail, get_store

    @app.command(name="reconcile")
    def reconcile_cmd(
        format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
        out: Annotated[str, typer.Option("--out", help="Write to this file instead of stdout.")] = "",
        detail: Annotated[
            bool, typer.Option("--detail", help="csv/json: include every drill-down record key.")
        ] = False,
        metrics: MetricsOption = "",
        rules: RulesOption = "",
    ) -> None:
        """Why each source's customer count differs from the resolved count, line by line."""
        if format not in FORMATS:
            fail(f"option --format: expected one of {', '.join(FORMATS)}, got {format!r}")
        contract = _metrics_from(metrics)
        r = rules_from(rules)
        with get_store() as store, console.status("reconciling…"):
            report = reconcile(store, contract, r)
        if format == "json":
            _emit(json.dumps(report.to_dict(drill_down=detail), indent=2, ensure_ascii=False) + "\n", out)
        elif format == "csv":
            _emit(reconciliation_csv(report, detail), out)
        elif out:
            capture = console.__class__(file=io.StringIO(), width=160, record=True)
            capture.print(reconciliation_table(report))
            _emit(capture.export_text(), out)
        else:
            console.print(reconciliation_table(report))

    @app.command(name="exceptions")
    def exceptions_cmd(
        kind: Annotated[str, typer.Option("--kind", help=f"One of: {', '.join(KINDS)} (default: all).")] = "",
        limit: Annotated[int, typer.Option("--limit", help="Rows shown per kind.")] = 20,
        as_of: Annotated[str, typer.Option("--as-of", help="Staleness reference time (ISO-8601; default now).")] = "",
        format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
        out: Annotated[str, typer.Option("--out", help="Write to this file instead of stdout.")] = "",
        metrics: MetricsOption = "",
        rules: RulesOption = "",
    ) -> None:
        """Records and entities to review: conflicts, stale or incomplete records, hubs, near misses."""
        if kind and kind not in KINDS:
            fail(f"option --kind: {UnknownKind(kind)}")
        if format not in ("table", "json"):
            fail(f"option --format: expected table or json, got {format!r}")
        if limit < 0:
            fail(f"option --limit: expected a number >= 0, got {limit}")
        if as_of:
            from datetime import datetime

            try:
                datetime.fromisoformat(as_of.replace("Z", "+00:00"))
            except ValueError:
                fail(f"option --as-of: expected an ISO-8601 time like 2025-06-30T00:00:00Z, got {as_of!r}")
        contract = _metrics_from(metrics)
        r = rules_from(rules)
        kinds = [kind] if kind else list(KINDS)
        with get_store() as store, console.status("scanning…"):
            found = {k: exceptions(store, k, contract.exceptions, r, as_of=as_of or None) for k in kinds}
        if format == "json":
            data = {
                "contract_version": contract.full_version,
                "rule_version": r.rule_version,
                "exceptions": {
                    k: {"total": len(v), "items": [_item_dict(i) for i in v[:limit]]} for k, v in found.items()
                },
            }
            _emit(json.dumps(data, indent=2, ensure_ascii=False) + "\n", out)
            return
        if len(kinds) > 1:
            t = Table(title=f"exceptions (contract {contract.full_version})")
            t.add_column("kind")
            t.add_column("count", justify="right")
            for k, v in found.items():
                t.add_row(k, f"{len(v):,}")
            console.print(t)
        for k, v in found.items():
            console.print(_exception_table(k, v, limit))


def _item_dict(item: ExceptionItem) -> dict[str, Any]:
    return {
        "kind": item.kind, "key": item.key, "summary": item.summary, "score": item.score,
        "entity_ids": list(item.entity_ids), "record_keys": list(item.record_keys), "details": item.details,
    }
