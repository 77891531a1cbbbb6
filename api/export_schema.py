"""Write the GraphQL schema to the checked-in `schema.graphql`: `python -m api.export_schema`.

The SDL file is what client developers read and diff in review, so it must never lag
behind the code: `tests/test_schema_file.py` fails while it does, and this module is
the one-liner that brings it back in sync (`--check` only compares, exit 1 if stale).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
REGENERATE = "python -m api.export_schema"


def schema_sdl() -> str:
    """The schema as SDL, exactly as it is written to `schema.graphql` (newline-terminated)."""
    return build_schema().as_str().rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.export_schema", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=SCHEMA_FILE, help=f"where to write (default {SCHEMA_FILE})")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if the file is out of date")
    args = parser.parse_args(argv)
    sdl = schema_sdl()
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != sdl:
            print(f"{args.output} is out of date; run: {REGENERATE}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    if current == sdl:
        print(f"{args.output} unchanged")
    else:
        args.output.write_text(sdl, encoding="utf-8")
        print(f"wrote {args.output} ({len(sdl.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
