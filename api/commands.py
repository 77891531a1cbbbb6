"""CLI commands of the API: `entitystore serve` and `entitystore keys create|list|revoke`."""

from __future__ import annotations

import gc
import ipaddress
import logging
from typing import Annotated

import typer
from rich.table import Table

from graphstore.resolve_commands import RulesOption, rules_from

from .auth import ROLES, KeyError_, create_key, revoke_key


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def tune_gc() -> None:
    """Fewer garbage collections for a server process.

    A GraphQL response is built from many short-lived objects (tens of thousands for a
    `resolveMany` of 1,000 keys), so CPython's default thresholds run the collector over and over
    during one request. Freezing what startup allocated and raising the thresholds cut
    the server's CPU per `resolveMany(1000)` by a third and per `resolve` by a tenth
    (bench/api_resolve.py, server CPU per request).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def register(app: typer.Typer) -> None:
    from graphstore.cli import console, fail, get_store, state
    from graphstore.connect import default_store_uri

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        dev: Annotated[
            bool,
            typer.Option("--dev", help="Accept requests without an API key (loopback addresses only)."),
        ] = False,
        rules: RulesOption = "",
        timeout: Annotated[float, typer.Option(help="Per-request time limit, seconds.")] = 15.0,
        access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
    ) -> None:
        """Serve the GraphQL API (GraphiQL at /graphql, /healthz, /readyz)."""
        import uvicorn

        from .app import create_app
        from .limits import Limits

        if dev and not is_loopback(host):
            fail(f"--dev accepts requests without a key, so it only listens on loopback; got --host {host}")
        if not 0 < port < 65536:
            fail(f"--port {port} is not a TCP port")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        app_ = create_app(
            state.store_uri or default_store_uri(), dev=dev, rules=rules_from(rules), limits=Limits(timeout_s=timeout)
        )
        tune_gc()
        mode = " [bold yellow](dev mode: no key needed)[/]" if dev else ""
        console.print(f"serving http://{host}:{port}/graphql{mode}", highlight=False)
        uvicorn.run(app_, host=host, port=port, access_log=access_log, log_level="info")

    keys = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
    app.add_typer(keys, name="keys")

    @keys.command("create")
    def keys_create(
        role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
        name: Annotated[str, typer.Option("--name", help="Who or what uses the key.")],
    ) -> None:
        """Create an API key and print it once; only its hash is stored."""
        with get_store() as store:
            try:
                plaintext, record = create_key(store, name, role)
            except KeyError_ as exc:
                fail(str(exc))
        console.print(f"created key [bold]{record.id}[/] ({record.role}, {record.name}); it is shown only now:",
                      highlight=False)
        typer.echo(plaintext)

    @keys.command("list")
    def keys_list(
        all_: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    ) -> None:
        """List API keys (never the keys themselves)."""
        with get_store() as store:
            found = store.list_api_keys(include_revoked=all_)
        if not found:
            console.print("no API keys" + ("" if all_ else " (active); --all shows revoked ones"))
            return
        table = Table(show_header=True, header_style="bold")
        for col in ("id", "name", "role", "ends with", "created", "revoked"):
            table.add_column(col)
        for k in found:
            table.add_row(k.id, k.name, k.role, "…" + k.hint, k.created_at[:19], (k.revoked_at or "")[:19])
        console.print(table)

    @keys.command("revoke")
    def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id shown by `keys list`.")]) -> None:
        """Revoke an API key (running servers stop accepting it within seconds)."""
        with get_store() as store:
            revoked = revoke_key(store, key_id)
        if revoked is None:
            fail(f"no active API key {key_id!r}; `entitystore keys list --all` shows them")
        console.print(f"revoked {revoked.id} ({revoked.role}, {revoked.name})", highlight=False)
