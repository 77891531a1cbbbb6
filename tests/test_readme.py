"""The README's promises that code can check: the two set-up commands come first and are
what CI and the demo test run, and every `entitystore` command it shows exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from graphstore.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
BLOCKS = re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_readme_starts_with_the_two_setup_commands() -> None:
    first, second = (b.strip() for b in BLOCKS[:2])
    assert first == "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/entitystore demo"
    assert second == "bash scripts/test"
    before_first = README[: README.index("```bash")]
    assert "```" not in before_first  # nothing else to paste comes before them


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert "bash scripts/test" in lines
    assert "bash scripts/neo4j start" in lines


def test_ci_runs_the_quick_benchmark_the_readme_describes() -> None:
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    bench = [line for line in lines if line.startswith("python -m bench")]
    assert bench and "--quick" in bench[0].split(), bench
    assert lines.index(bench[0]) > lines.index("bash scripts/test")  # it wipes the tests' Neo4j database
    assert f"`{bench[0]}`" in " ".join(README.split())


def test_every_entitystore_command_in_the_readme_exists() -> None:
    runner = CliRunner()
    seen = set()
    for block in BLOCKS:
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            m = re.search(r"(?:^|/)entitystore\s+(.*)", line)
            if not m:
                continue
            args = re.sub(r"--store\s+\S+\s*", "", m.group(1))  # the global option and its value
            words = [w for w in shlex.split(args) if not w.startswith("-")]
            if not words:
                continue
            command = words[:2] if words[0] == "keys" else words[:1]
            seen.add(" ".join(command))
            result = runner.invoke(app, [*command, "--help"])
            assert result.exit_code == 0, (line, result.output)
    assert {"demo", "generate", "load", "resolve", "explain", "serve", "reconcile"} <= seen
