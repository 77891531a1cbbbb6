"""`entitystore demo` end to end, as the README's first command runs it: a real process
generates, loads, resolves, reports, then serves the API in dev mode, and every example
query it prints answers with data and no errors over real HTTP."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from graphstore.connect import open_store
from graphstore.demo import DemoRefused, run_demo
from graphstore.model import Record

ROOT = Path(__file__).resolve().parent.parent


def _entitystore() -> list[str]:
    exe = shutil.which("entitystore", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "graphstore.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _queries(path: Path) -> list[tuple[str, str]]:
    blocks = [b for b in path.read_text("utf-8").split("\n\n") if b.strip()]
    out = []
    for b in blocks:
        title, _, query = b.partition("\n")
        out.append((title.lstrip("# "), query.strip()))
    return out


def test_demo_serves_answers_to_the_queries_it_prints(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "ENTITYSTORE_STORE": f"sqlite:///{tmp_path / 'demo.db'}", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [*_entitystore(), "demo", "--records", "2000", "--data", str(tmp_path / "data"), "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    printed: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            printed.append(line)
            if line.startswith("serving http://127.0.0.1"):
                break
            assert time.monotonic() < deadline, "".join(printed)
        else:
            pytest.fail("demo exited before serving:\n" + "".join(printed))
        text = "".join(printed)
        for heading in ("loaded", "resolved", "reconciliation", "accuracy", "try these"):
            assert heading in text
        queries = _queries(tmp_path / "data" / "example-queries.graphql")
        assert len(queries) >= 5
        for _, q in queries:  # each printed query is in the file, verbatim
            assert q in re.sub(r"\n(?!\n)", "", text) or q in text
        with httpx.Client(timeout=30) as client:
            for _ in range(100):
                try:
                    if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            for title, q in queries:
                body = client.post(url, json={"query": q}).json()
                assert "errors" not in body, (title, body)
                data = body["data"]
                assert all(v is not None for v in data.values()), (title, data)
            page = client.get(url, headers={"accept": "text/html"})
            assert page.status_code == 200 and "graphiql" in page.text.lower()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_demo_refuses_a_store_holding_other_data(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'real.db'}") as store:
        store.upsert_records([Record(source="crm", source_id="1", attrs={"name": "Ann"})])
        with pytest.raises(DemoRefused, match="1 records that the demo did not load"):
            run_demo(store, tmp_path / "data", records=200)
        assert store.counts()["records"] == 1  # nothing lost
    out = subprocess.run(
        [*_entitystore(), "--store", f"sqlite:///{tmp_path / 'real.db'}", "demo", "--no-serve",
         "--data", str(tmp_path / "data")],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert out.returncode == 2
    assert "demo did not load" in out.stderr and "Traceback" not in out.stderr + out.stdout


def test_demo_reruns_over_its_own_store(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'demo.db'}") as store:
        first = run_demo(store, tmp_path / "data", records=300, seed=1)
        again = run_demo(store, tmp_path / "data", records=300, seed=1)
        assert again.resolve.persons == first.resolve.persons
        assert store.counts()["records"] == first.resolve.records
