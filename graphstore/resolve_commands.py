"""CLI commands of resolution: `resolve`, `explain`, `evaluate`.

Thin: parse arguments, call the Resolver facade or the evaluator, print with rich.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .evaluate import Evaluation, Scores, TruthFileError, evaluate
from .explain import UnknownRecord
from .model import split_record_key
from .resolution import ResolutionError, Resolver, ResolveSummary
from .rules import Rules, RulesError, load_rules

RulesOption = Annotated[
    str,
    typer.Option("--rules", envvar="ENTITYSTORE_RULES", help="Rules YAML (default: the shipped rules).", show_default=False),
]


def rules_from(path: str) -> Rules:
    from .cli import fail

    try:
        return load_rules(path or None)
    except RulesError as exc:
        fail(str(exc))


def _record_key_arg(value: str, name: str) -> str:
    from .cli import fail

    try:
        split_record_key(value)
    except ValueError:
        fail(f"argument {name}: {value!r} is not SOURCE:ID (for example crm:0031x000001)")
    return value


def register(app: typer.Typer) -> None:
    from .cli import console, fail, get_store

    @app.command()
    def resolve(
        full: Annotated[bool, typer.Option("--full", help="Resolve everything, not just what changed.")] = False,
        rules: RulesOption = "",
    ) -> None:
        """Resolve records into person entities and accounts (incremental unless --full)."""
        r = rules_from(rules)
        with get_store() as store, console.status("resolving…") as status:
            summary = Resolver(store, r).resolve(full=full, progress=lambda m: status.update(m))
        print_summary(console, summary)

    @app.command()
    def explain(
        a: Annotated[str, typer.Argument(help="First record, SOURCE:ID.")],
        b: Annotated[str, typer.Argument(help="Second record, SOURCE:ID.")],
        rules: RulesOption = "",
    ) -> None:
        """Why two records are in one entity (the evidence path), or why not."""
        _record_key_arg(a, "A")
        _record_key_arg(b, "B")
        r = rules_from(rules)
        with get_store() as store:
            try:
                ex = Resolver(store, r).explain(a, b)
            except UnknownRecord as exc:
                fail(str(exc))
        console.print(f"[bold]{'SAME ENTITY' if ex.same_entity else 'NOT MERGED'}[/]: {ex.verdict}", highlight=False)
        if ex.path:
            t = Table(title="evidence path")
            for col in ("pair", "score", "rule version", "evidence"):
                t.add_column(col)
            for e in ex.path:
                items = "; ".join(_item(i) for i in e.evidence)
                t.add_row(f"{e.a} ~ {e.b}", f"{e.score:g}", e.rule_version, items)
            console.print(t)
        t = Table(title=f"direct comparison: score {ex.score:g} vs threshold {ex.threshold:g} (rules {ex.rule_version})")
        t.add_column("evidence")
        t.add_column("counted")
        for i in ex.evidence + ex.ignored:
            t.add_row(_item(i), "yes" if i.counted else f"no: {i.note}")
        console.print(t)

    @app.command(name="evaluate")
    def evaluate_cmd(
        truth: Annotated[str, typer.Option("--truth", help="CSV with source,source_id,person_id,account_id.")],
    ) -> None:
        """Pairwise and B-cubed precision/recall of persons and accounts against labelled truth."""
        with get_store() as store:
            try:
                ev = evaluate(store, truth)
            except TruthFileError as exc:
                fail(str(exc))
        print_evaluation(console, ev, os.path.basename(truth))

    @app.command()
    def override(
        kind: Annotated[str, typer.Argument(help="link or cannot-link")],
        a: Annotated[str, typer.Argument(help="First record, SOURCE:ID.")],
        b: Annotated[str, typer.Argument(help="Second record, SOURCE:ID.")],
        reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
        actor: Annotated[str, typer.Option("--actor", help="Who decides.")] = os.environ.get("USER", "cli"),
        rules: RulesOption = "",
    ) -> None:
        """Record a steward decision (must-link or cannot-link) and re-resolve at once."""
        if kind not in ("link", "cannot-link"):
            fail(f"argument KIND: expected 'link' or 'cannot-link', got {kind!r}")
        _record_key_arg(a, "A")
        _record_key_arg(b, "B")
        r = rules_from(rules)
        with get_store() as store:
            res = Resolver(store, r)
            try:
                out = res.link(a, b, actor, reason) if kind == "link" else res.split(a, b, actor, reason)
            except ResolutionError as exc:
                fail(str(exc))
        console.print(f"override {out.override.id} ({out.override.kind}) stored; entities now: {', '.join(out.entity_ids)}", highlight=False)


def _item(i: object) -> str:
    from .model import EvidenceItem

    assert isinstance(i, EvidenceItem)
    if i.similarity is not None:
        return f"{i.kind} {i.left!r}~{i.right!r} sim {i.similarity:g} w {i.weight:g}"
    return f"{i.kind}={i.value} w {i.weight:g}"


def _fmt(s: Scores) -> list[str]:
    return [f"{v:.4f}" for v in (s.pairwise_precision, s.pairwise_recall, s.pairwise_f1,
                                  s.bcubed_precision, s.bcubed_recall, s.bcubed_f1)]


def print_summary(console: Console, summary: ResolveSummary) -> None:
    """The resolve summary table: what `resolve` prints and the demo reuses."""
    t = Table(title=f"resolution {summary.run_id} ({summary.mode}, rules {summary.rule_version})")
    t.add_column("")
    t.add_column("count", justify="right")
    for label, value in (
        ("records considered", summary.records),
        ("match edges", summary.matches),
        ("near misses", summary.near_misses),
        ("person entities", summary.persons),
        ("account entities", summary.accounts),
        ("entities created", summary.created),
        ("entities merged away", summary.merged),
        ("entities split", summary.split),
        ("records moved", summary.moved),
        ("hub identifiers ignored", summary.hub_identifiers_ignored),
        ("oversized blocks skipped", summary.blocks_skipped),
        ("cannot-link cuts", summary.cuts),
    ):
        t.add_row(label, f"{value:,}")
    console.print(t)
    if summary.candidate_pairs:
        console.print(
            "candidate pairs by source: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(summary.candidate_pairs.items())),
            highlight=False,
        )
    console.print(
        f"{summary.elapsed_s:.2f}s (" + ", ".join(f"{k} {v:.2f}s" for k, v in summary.stages.items()) + ")",
        highlight=False,
    )


def print_evaluation(console: Console, ev: Evaluation, truth_name: str) -> None:
    """Pairwise and B-cubed scores per level: what `evaluate` prints and the demo reuses."""
    t = Table(title=f"accuracy against {truth_name}")
    for col in ("level", "records", "pairwise P", "pairwise R", "pairwise F1", "B³ P", "B³ R", "B³ F1"):
        t.add_column(col, justify="right")
    for level, s in (("persons", ev.persons), ("accounts", ev.accounts)):
        t.add_row(level, f"{s.records:,}", *_fmt(s))
    console.print(t)
    if ev.missing:
        console.print(f"{ev.missing:,} truth rows name records that are not in the store", highlight=False)
