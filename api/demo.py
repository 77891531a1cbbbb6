"""`entitystore demo`: sample data end to end, then the API in dev mode with queries to paste.

The data half lives in `graphstore.demo`; this module prints the reports, writes the
example queries (built from real keys of the generated data, so each one answers
something) and serves the API on loopback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from graphstore.demo import DemoExamples, DemoRefused, run_demo


def _key(record_key: str) -> str:
    source, _, source_id = record_key.partition(":")
    return f'{{source: {json.dumps(source)}, sourceId: {json.dumps(source_id)}}}'


def example_queries(ex: DemoExamples) -> list[tuple[str, str]]:
    """(what it shows, GraphQL text) pairs, in the order a newcomer would try them."""
    source, source_id = ex.record
    out = [
        (
            "Which customer is this source record? (apps)",
            f'{{ resolve(source: {json.dumps(source)}, sourceId: {json.dumps(source_id)}) '
            "{ person { id displayName memberCount } account { id displayName } } }",
        ),
        (
            "What is this entity made of, and what holds it together? (stewards)",
            f'{{ entity(id: {json.dumps(ex.entity_id)}) {{ id kind displayName '
            "golden { name { value source record rule alternatives { value source record } } email { value source } } "
            "members(first: 10) { edges { node { key source sourceId } } } "
            "evidence(first: 5) { edges { node { aKey bKey score ruleVersion evidence { kind value weight } } } } "
            "account { id displayName } } }",
        ),
        (
            "Why did these two records merge? (auditors)",
            f"{{ explainMatch(a: {_key(ex.pair[0])}, b: {_key(ex.pair[1])}) "
            "{ sameEntity verdict path { aKey bKey score ruleVersion evidence { kind value weight } } } }",
        ),
    ]
    if ex.near_miss:
        out.append((
            "Why were these two kept apart? (stewards' review queue)",
            f"{{ explainMatch(a: {_key(ex.near_miss[0])}, b: {_key(ex.near_miss[1])}) "
            "{ sameEntity verdict score threshold evidence { kind weight } ignored { kind value note } } }",
        ))
    out += [
        (
            "Find customers by name, email, domain, phone or source id",
            f'{{ search(text: {json.dumps(ex.search)}, first: 5) '
            "{ edges { node { matchedOn entity { id kind displayName } } } } }",
        ),
        (
            "Why does each system count customers differently?",
            "{ reconciliation { persons accounts sources { source nativeCount resolvedCount "
            "lines { label count } } } }",
        ),
    ]
    return out


def register(app: typer.Typer) -> None:
    from graphstore.cli import console, fail, get_store, state
    from graphstore.connect import default_store_uri
    from graphstore.reporting_commands import reconciliation_table
    from graphstore.resolve_commands import print_evaluation, print_summary
    from loaders.commands import summary_table

    @app.command()
    def demo(
        records: Annotated[int, typer.Option(help="Sample records to generate across the five sources.")] = 20_000,
        seed: Annotated[int, typer.Option(help="Generator seed (same seed, same data).")] = 42,
        data: Annotated[Path, typer.Option(help="Folder for the generated files.")] = Path("demo-data"),
        port: Annotated[int, typer.Option(help="Port for the API (127.0.0.1 only).")] = 8000,
        serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API when done.")] = True,
    ) -> None:
        """Generate sample data, load, resolve, reconcile, evaluate, then serve the API (dev mode)."""
        if records < 100:
            fail(f"option --records: expected at least 100, got {records}")
        if not 0 < port < 65536:
            fail(f"option --port: {port} is not a TCP port")
        with get_store() as store, console.status("demo…") as status:
            try:
                run = run_demo(store, data, records=records, seed=seed, progress=status.update)
            except DemoRefused as exc:
                fail(str(exc))
        console.rule("loaded")
        console.print(summary_table(list(run.loads.values())))
        console.rule("resolved")
        print_summary(console, run.resolve)
        console.rule("reconciliation: why each system counts customers differently")
        console.print(reconciliation_table(run.reconciliation))
        console.rule("accuracy against the generator's ground truth")
        print_evaluation(console, run.evaluation, str(run.folder / "truth.csv"))
        queries = example_queries(run.examples)
        (run.folder / "example-queries.graphql").write_text(
            "".join(f"# {title}\n{q}\n\n" for title, q in queries), encoding="utf-8"
        )
        console.rule("try these")
        url = f"http://127.0.0.1:{port}/graphql"
        console.print(f"GraphiQL: [bold]{url}[/] (dev mode: no API key on loopback)", highlight=False)
        for title, q in queries:
            console.print(f"\n[bold]# {title}[/]", highlight=False)
            console.print(q, highlight=False, markup=False, soft_wrap=True)
        console.print(
            f"\nthe same queries are in {run.folder / 'example-queries.graphql'}; from a shell:\n"
            f"  curl -s {url} -H 'content-type: application/json' "
            "-d '{\"query\": \"{ viewer { role } }\"}'",
            highlight=False, markup=False,
        )
        if not serve:
            return
        import logging

        import uvicorn

        from .app import create_app

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        console.print(f"\nserving {url} — Ctrl+C to stop", highlight=False)
        uvicorn.run(create_app(state.store_uri or default_store_uri(), dev=True), host="127.0.0.1", port=port,
                    log_level="warning")
