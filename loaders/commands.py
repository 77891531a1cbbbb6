"""CLI commands of the loaders: `generate`, `load` and `quarantine`.

Thin: parse arguments, call `loaders.generate` / `loaders.load`, show a rich progress
bar and the summary table. Every user mistake (a bad mapping, a malformed file, a
wrong argument) ends as one line naming the file, line, field or argument, exit 2,
and, for a malformed file, with nothing of it stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .load import DEFAULT_BATCH, LoadSummary, load_file, load_folder, sample_files
from .mapping import SAMPLE_SOURCES, MappingError, load_mapping
from .parallel import WorkerDied
from .readers import FileFormatError, check_file


def summary_table(summaries: list[LoadSummary]) -> Table:
    """One row per loaded file; the read column always equals the sum of the next four."""
    t = Table(title="load summary", show_header=True, header_style="bold")
    for col in ("source", "file", "read", "inserted", "updated", "unchanged", "quarantined", "rec/s"):
        t.add_column(col, justify="left" if col in ("source", "file") else "right")
    for s in summaries:
        t.add_row(
            s.source, Path(s.file).name, f"{s.read:,}", f"{s.inserted:,}", f"{s.updated:,}", f"{s.unchanged:,}",
            f"{s.quarantined:,}", f"{s.records_per_second:,.0f}",
        )
    if len(summaries) > 1:
        tot = {k: sum(getattr(s, k) for s in summaries) for k in ("read", "inserted", "updated", "unchanged", "quarantined")}
        t.add_row("total", "", *(f"{v:,}" for v in tot.values()), "", style="bold")
    return t


def _details(summaries: list[LoadSummary]) -> list[str]:
    lines = []
    for s in summaries:
        if s.reasons:
            lines.append(f"{s.source}: quarantined " + ", ".join(f"{k} {v:,}" for k, v in s.reasons.most_common()))
        if s.invalid_values:
            lines.append(
                f"{s.source}: values not used as evidence (kept in attrs) "
                + ", ".join(f"{k} {v:,}" for k, v in s.invalid_values.most_common())
            )
    return lines


def _progress() -> Progress:
    from graphstore.cli import err_console

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=False,
    )


def register(app: typer.Typer) -> None:
    from graphstore.cli import console, fail, get_store

    @app.command()
    def generate(
        out_dir: Annotated[Path, typer.Argument(help="Folder to write the five source files, truth.csv and accounts.csv into.")],
        records: Annotated[int, typer.Option("--records", "-n", help="Rows to write across the five sources.")] = 10_000,
        seed: Annotated[int, typer.Option("--seed", help="Same seed, same files (byte for byte).")] = 42,
    ) -> None:
        """Write sample source files (crm, billing, support, product, marketing) with labelled truth."""
        from .generate import generate as gen

        if records < 10:
            fail(f"--records: expected at least 10, got {records}")
        if out_dir.exists() and not out_dir.is_dir():
            fail(f"OUT_DIR {out_dir}: exists and is not a folder")
        try:
            with console.status(f"generating {records:,} records…"):
                result = gen(out_dir, records=records, seed=seed)
        except OSError as exc:
            fail(f"OUT_DIR {out_dir}: cannot write ({exc.strerror or exc})")
        t = Table(title=f"generated into {out_dir} (seed {seed})", show_header=True, header_style="bold")
        for col in ("source", "file", "rows", "to quarantine"):
            t.add_column(col, justify="left" if col in ("source", "file") else "right")
        for source, path in result.files.items():
            t.add_row(source, path.name, f"{result.counts[source]:,}", f"{result.bad_rows.get(source, 0):,}")
        console.print(t)
        console.print(
            f"{result.records:,} rows, {result.persons:,} people, {result.accounts:,} accounts in {result.elapsed:.1f}s;"
            f" truth in {result.truth.name}, hierarchy in {result.accounts_file.name}",
            highlight=False,
        )

    @app.command()
    def load(
        files: Annotated[list[Path] | None, typer.Argument(help="Source files to load with --source's mapping.")] = None,
        source: Annotated[
            str,
            typer.Option("--source", "-s", help=f"Mapping YAML, or a sample source name ({', '.join(SAMPLE_SOURCES)}).",
                         show_default=False),
        ] = "",
        folder: Annotated[
            Path | None,
            typer.Option("--folder", help="Load every sample source file in this folder (as `generate` writes them)."),
        ] = None,
        batch_size: Annotated[int, typer.Option("--batch-size", help="Rows per store transaction.")] = DEFAULT_BATCH,
        workers: Annotated[
            int | None,
            typer.Option("--workers", help="Processes that normalize rows (default: automatic; 0: none).", show_default=False),
        ] = None,
    ) -> None:
        """Load source files through a mapping: insert, update in place, quarantine bad rows, print the summary."""
        if batch_size < 1:
            fail(f"--batch-size: expected a positive number, got {batch_size}")
        if workers is not None and workers < 0:
            fail(f"--workers: expected 0 or more, got {workers}")
        if folder is not None:
            if source or files:
                fail("--folder loads every sample source with its shipped mapping; do not also give --source or FILE")
            if not folder.is_dir():
                fail(f"--folder {folder}: not a folder")
            _load_folder(folder, batch_size, workers)
            return
        if not source:
            fail("--source: expected a mapping YAML or a sample source name (or use --folder DIR)")
        if not files:
            fail("FILE: expected at least one file to load with --source")
        try:
            mapping = load_mapping(source)
        except MappingError as exc:
            fail(str(exc))
        try:
            for f in files:  # every file is checked before the first write
                check_file(f, mapping)
        except FileFormatError as exc:
            fail(str(exc))
        summaries = []
        with get_store() as store, _progress() as bar:
            for f in files:
                task = bar.add_task(f"{mapping.name} {f.name}", total=None)
                try:
                    s = load_file(
                        store, mapping, f, batch_size=batch_size, workers=workers,
                        progress=lambda done, total, _t=task: bar.update(_t, completed=done, total=total),
                    )
                except (FileFormatError, WorkerDied) as exc:
                    fail(str(exc))
                summaries.append(s)
        _print(summaries)

    def _load_folder(folder: Path, batch_size: int, workers: int | None) -> None:
        found = sample_files(folder)
        if not found:
            fail(
                f"--folder {folder}: no sample source files (expected some of "
                + ", ".join(f"{s}.{load_mapping(s).format}" for s in SAMPLE_SOURCES) + ")"
            )
        with get_store() as store, _progress() as bar:
            tasks = {s: bar.add_task(f"{s} {p.name}", total=None) for s, p in found.items()}
            try:
                result = load_folder(
                    store, folder, batch_size=batch_size, workers=workers,
                    progress=lambda s, done, total: bar.update(tasks[s], completed=done, total=total),
                )
            except (FileFormatError, WorkerDied) as exc:
                fail(str(exc))
        _print(list(result.values()))

    def _print(summaries: list[LoadSummary]) -> None:
        console.print(summary_table(summaries))
        for line in _details(summaries):
            console.print(line, highlight=False)
        if any(s.quarantined for s in summaries):
            console.print("`entitystore quarantine` lists the quarantined rows", style="dim")

    @app.command()
    def quarantine(
        source: Annotated[str, typer.Option("--source", "-s", help="Only this source's rows.", show_default=False)] = "",
        limit: Annotated[int, typer.Option("--limit", help="Show at most this many rows (0: all).")] = 100,
    ) -> None:
        """List quarantined rows: source, file, line, reason and the raw text."""
        if limit < 0:
            fail(f"--limit: expected 0 or more, got {limit}")
        with get_store() as store:
            rows = store.quarantined(source=source or None, limit=limit or None)
        if not rows:
            console.print("no quarantined rows" + (f" for source {source!r}" if source else ""), highlight=False)
            return
        t = Table(title="quarantine", show_header=True, header_style="bold")
        for col in ("source", "file", "line", "reason", "raw"):
            t.add_column(col, overflow="fold")
        for q in rows:
            raw = q.raw.rstrip("\r\n")
            t.add_row(q.source, Path(q.file).name, str(q.line), q.reason, raw[:160] + ("…" if len(raw) > 160 else ""))
        console.print(t)
        if limit and len(rows) == limit:
            console.print(f"showing the first {limit}; --limit 0 shows all", style="dim")
