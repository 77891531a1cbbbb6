"""The `entitystore` command line.

One typer app; each area registers its own commands (`loaders.commands`,
`graphstore.resolve_commands`, `api.commands`...) so this file stays the wiring, not
the logic. User errors (bad URI, unreachable store, bad input files) end as one line
on stderr with exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from .connect import default_store_uri, open_store
from .store import GraphStore, StoreError

app = typer.Typer(
    name="entitystore",
    help="Graph-based customer entity store: load source records, resolve customers, explain every merge.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


class UserError(Exception):
    """A mistake in what the user gave us (file, argument, config): shown as one line, exit 2."""


class _State:
    store_uri: str = ""


state = _State()


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def get_store() -> GraphStore:
    """Open the store chosen by --store / ENTITYSTORE_STORE; a failure is a one-line exit 2."""
    try:
        return open_store(state.store_uri or default_store_uri())
    except StoreError as exc:
        fail(str(exc))


@app.callback()
def _main(
    store: Annotated[
        str,
        typer.Option(
            "--store",
            envvar="ENTITYSTORE_STORE",
            help="sqlite:///path/to/file.db (default ./entitystore.db), neo4j://host:port, bolt://..., "
            "neo4j+s://... (credentials from NEO4J_USER / NEO4J_PASSWORD), or 'neo4j' for $NEO4J_URI.",
            show_default=False,
        ),
    ] = "",
) -> None:
    state.store_uri = store


@app.command()
def status() -> None:
    """Print the store, its version and node/edge counts."""
    with get_store() as store:
        info = store.info()
        counts = store.counts()
        sources = store.source_counts()
    console.print(f"store   [bold]{info.uri}[/]  ({info.backend}, {info.version})", highlight=False)
    table = Table(title="graph", show_header=True, header_style="bold")
    table.add_column("nodes / edges")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(key, f"{value:,}")
    console.print(table)
    if sources:
        console.print("records by source: " + ", ".join(f"{s} {n:,}" for s, n in sources.items()), highlight=False)


# Areas that add commands; a module listed here exposes `register(app)`.
_COMMAND_MODULES = (
    "loaders.commands",
    "graphstore.resolve_commands",
    "graphstore.reporting_commands",
    "graphstore.report_commands",
    "api.commands",
    "api.demo",
)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that area is not built yet
                continue
            raise
        register: Callable[[Any], None] = module.register
        register(app)


_register_all()


def main() -> None:
    try:
        app()
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except StoreError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
