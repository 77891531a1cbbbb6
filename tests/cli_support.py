"""Driving `entitystore` in-process for CLI tests: one runner, one way to call it, one
check of the "one line, exit 2, no traceback" rule every command follows."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from conftest import neo4j_uri
from graphstore.cli import app

runner = CliRunner()


def store_uri(store_kind: str, tmp_path: Path) -> str:
    """The --store URI of the store `conftest.make_store(store_kind, tmp_path)` opened."""
    return f"sqlite:///{tmp_path / 'store.db'}" if store_kind == "sqlite" else neo4j_uri()


def run(uri: str, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `entitystore --store URI ARGS...`; a crash re-raises."""
    result = runner.invoke(app, ["--store", uri, *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]
