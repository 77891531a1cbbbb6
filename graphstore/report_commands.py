"""CLI commands for reading entities out: `entitystore show` and `entitystore export`.

Thin: parse arguments, call `graphstore.golden` / `graphstore.export`, print with rich.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .export import FORMATS, ExportError, export
from .golden import golden_with_members
from .model import ACCOUNT, Entity
from .store import GraphStore
from .survivorship import GoldenRecord, Survivorship, SurvivorshipError, load_survivorship

SurvivorshipOption = Annotated[
    str,
    typer.Option(
        "--survivorship", envvar="ENTITYSTORE_SURVIVORSHIP",
        help="Survivorship YAML (default: the shipped graphstore/defaults/survivorship.yaml).", show_default=False,
    ),
]
_MAX_KEYS_SHOWN = 8
_MAX_ALTERNATIVES_SHOWN = 3


def survivorship_from(path: str) -> Survivorship:
    from .cli import fail

    try:
        return load_survivorship(path or None)
    except SurvivorshipError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    from .cli import console, fail, get_store

    @app.command()
    def show(
        entity_id: Annotated[str, typer.Argument(help="A person or account id (an alias of a merged id works too).")],
        survivorship: SurvivorshipOption = "",
        history: Annotated[int, typer.Option("--history", min=0, help="How many recent history events to show.")] = 10,
    ) -> None:
        """Show one entity: golden attributes with provenance, members by source, account and
        hierarchy, recent history."""
        config = survivorship_from(survivorship)
        with get_store() as store:
            live = store.resolve_ids([entity_id]).get(entity_id)
            entity = store.get_entities([live]).get(live) if live else None
            if entity is None:
                fail(f"ENTITY_ID: unknown entity id {entity_id!r} (not a live id, nor an alias of one)")
            console.print(_entity_panel(store, entity, entity_id, config, history))

    @app.command("export")
    def export_cmd(
        out_dir: Annotated[str, typer.Argument(help="Directory to write entities, memberships, hierarchy and aliases to.")],
        fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")] = "csv",
        survivorship: SurvivorshipOption = "",
    ) -> None:
        """Export entities with golden attributes, the membership map, the account hierarchy
        and aliases, one file per table, for warehouses and BI."""
        config = survivorship_from(survivorship)
        try:
            from .export import prepare_dir

            prepare_dir(out_dir, fmt)  # refuse a bad format or directory before opening the store
            with get_store() as store, console.status("exporting…") as status:
                summary = export(store, out_dir, fmt, config, progress=lambda m: status.update(m))
        except ExportError as exc:
            fail(str(exc))
        t = Table(title=f"export to {summary.out_dir} ({fmt}, golden {config.config_version})")
        t.add_column("table")
        t.add_column("rows", justify="right")
        t.add_column("file")
        for table, n in summary.rows.items():
            t.add_row(table, f"{n:,}", str(summary.files[table]))
        console.print(t)


# -- the entity panel ----------------------------------------------------------------------------
def _entity_panel(store: GraphStore, entity: Entity, asked: str, config: Survivorship, history: int) -> Panel:
    golden, members = golden_with_members(store, [entity], config)
    g = golden[entity.id]
    name = (g.attributes["name"].value if "name" in g.attributes else None) or entity.attrs.get("name") or ""
    head = Text.assemble((entity.id, "bold"), f"  {entity.kind}  ", (str(name), "bold cyan"))
    if asked != entity.id:
        head.append(f"\n{asked} was merged into {entity.id}", style="yellow")
    head.append(f"\ncreated {entity.created_at or '-'}  updated {entity.updated_at or '-'}  golden {g.version}",
                style="dim")
    parts: list[Any] = [head, _golden_table(g), _members_table(entity, members.get(entity.id, []))]
    parts.append(_hierarchy_text(store, entity))
    aliases = store.aliases_of([entity.id]).get(entity.id, [])
    if aliases:
        parts.append(Text(f"aliases: {', '.join(aliases)}"))
    if history:
        parts.append(_history_table(store, entity.id, history))
    return Panel(Group(*parts), title=f"entity {entity.id}", expand=False)


def _golden_table(g: GoldenRecord) -> Table:
    t = Table(title="golden attributes", title_justify="left", show_lines=False)
    for col in ("attribute", "value", "source", "record", "updated", "rule", "alternatives"):
        t.add_column(col, overflow="fold")
    for name, v in g.attributes.items():
        alts = ", ".join(f"{a.value} ({a.source})" for a in v.alternatives[:_MAX_ALTERNATIVES_SHOWN])
        if len(v.alternatives) > _MAX_ALTERNATIVES_SHOWN:
            alts += f", +{len(v.alternatives) - _MAX_ALTERNATIVES_SHOWN} more"
        t.add_row(name, v.value, v.source, v.record, v.updated_at or "-", v.rule, alts or "-")
    if not g.attributes:
        t.add_row("-", "no member records carry a golden attribute", "", "", "", "", "")
    return t


def _members_table(entity: Entity, keys: list[str]) -> Table:
    by_source: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        by_source[k.partition(":")[0]].append(k)
    what = "records of its persons" if entity.kind == ACCOUNT else "member records"
    t = Table(title=f"{what} by source ({len(keys)})", title_justify="left")
    t.add_column("source")
    t.add_column("records", justify="right")
    t.add_column("keys", overflow="fold")
    for source in sorted(by_source):
        ks = by_source[source]
        shown = ", ".join(ks[:_MAX_KEYS_SHOWN]) + (f", +{len(ks) - _MAX_KEYS_SHOWN} more" if len(ks) > _MAX_KEYS_SHOWN else "")
        t.add_row(source, str(len(ks)), shown)
    return t


def _hierarchy_text(store: GraphStore, entity: Entity) -> Text:
    lines: list[str] = []
    account = entity.id
    if entity.kind != ACCOUNT:
        acct = store.accounts_of([entity.id]).get(entity.id)
        if acct is None:
            return Text("account: none (no usable account evidence)")
        lines.append(f"account: {_label(store, acct)}")
        account = acct
    else:
        persons = store.persons_of([entity.id]).get(entity.id, [])
        children = store.children_of([entity.id]).get(entity.id, [])
        lines.append(f"persons: {len(persons)}" + (f" ({', '.join(persons[:_MAX_KEYS_SHOWN])}"
                                                    f"{', …' if len(persons) > _MAX_KEYS_SHOWN else ''})" if persons else ""))
        if children:
            lines.append(f"child accounts: {', '.join(children)}")
    chain: list[str] = []
    node = account
    for _ in range(20):  # hierarchies are acyclic by construction; the bound is a guard
        parent = store.parents_of([node]).get(node)
        if parent is None or parent in chain:
            break
        chain.append(parent)
        node = parent
    if chain:
        lines.append("parents: " + " → ".join(_label(store, p) for p in chain))
    return Text("\n".join(lines))


def _label(store: GraphStore, entity_id: str) -> str:
    e = store.get_entities([entity_id]).get(entity_id)
    name = e.attrs.get("name") if e else None
    return f"{entity_id} ({name})" if name else entity_id


def _history_table(store: GraphStore, entity_id: str, n: int) -> Table:
    events = store.events(entity_ids=[entity_id])[-n:]
    t = Table(title=f"recent history ({len(events)} shown)", title_justify="left")
    for col in ("at", "event", "by", "cause", "rules"):
        t.add_column(col, overflow="fold")
    for e in reversed(events):
        t.add_row(e.at, e.type, e.actor or e.run_id or "-", e.cause or "-", e.rule_version or "-")
    return t
