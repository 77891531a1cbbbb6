"""The Cypher the Neo4j store runs, read from `cypher/<name>.cypher`.

Keeping every statement in its own named file (not in Python strings) lets a reviewer or
a DBA read, EXPLAIN and PROFILE exactly what runs, and keeps values out of the text: a
file holds labels, relationship types and `$parameters`, never data. Each file is one
statement, except `schema.cypher`, whose statements end with `;`.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

CYPHER_DIR_ENV = "ENTITYSTORE_CYPHER_DIR"

# The files live at the top of the repository (the product layout fixes `cypher/` there).
_DEFAULT_DIR = Path(__file__).resolve().parent.parent / "cypher"

# A statement ends at a ';' that closes a line; the schema file uses no ';' inside strings.
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")


def cypher_dir() -> Path:
    """Where the .cypher files are: $ENTITYSTORE_CYPHER_DIR, else `cypher/` beside the package."""
    return Path(os.environ.get(CYPHER_DIR_ENV) or _DEFAULT_DIR)


def _read(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"cypher file name {name!r} must be lower_snake_case without an extension")
    path = cypher_dir() / f"{name}.cypher"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Cypher file {path} is missing (set ${CYPHER_DIR_ENV} if the cypher/ folder lives elsewhere)"
        ) from None


def _body(text: str) -> str:
    """The statement without its `//` comment lines: what gets checked for emptiness."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")).strip()


@cache
def statement(name: str) -> str:
    """The one statement in `cypher/<name>.cypher` (header comment kept: it shows in query logs)."""
    text = _read(name).strip()
    body = _body(text)
    if not body:
        raise ValueError(f"cypher/{name}.cypher holds no statement")
    if _STATEMENT_END.search(body.rstrip().rstrip(";")):
        raise ValueError(f"cypher/{name}.cypher holds more than one statement; use statements()")
    return text.rstrip().rstrip(";").rstrip()


@cache
def statements(name: str) -> tuple[str, ...]:
    """The `;`-separated statements of a multi-statement file such as `schema.cypher`."""
    parts = (_body(part) for part in _STATEMENT_END.split(_read(name)))
    found = tuple(p for p in parts if p)
    if not found:
        raise ValueError(f"cypher/{name}.cypher holds no statement")
    return found
