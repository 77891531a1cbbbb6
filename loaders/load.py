"""Loading: a source file through its mapping into the store, in batches, with a summary.

Guarantees:
- nothing is silently dropped: every row read is inserted, updated, unchanged or
  quarantined (with source, file, line, raw text and reason), and
  `read == inserted + updated + unchanged + quarantined`;
- a file that is malformed as a whole (encoding, header, delimiter, not JSON lines) is
  rejected by `readers.check_file` before the first write, so nothing of it is stored;
- idempotent: loading the same file again changes nothing (unchanged rows are not
  rewritten, quarantine rows already kept for that file/line/reason are not added
  again), and a load killed midway can simply be rerun: every batch is one store
  transaction, and the rerun reaches the same final state as an uninterrupted load;
- within one file the first row with an ID wins; a later row with the same ID and
  different content is quarantined ("duplicate id"), an identical repeat counts as
  unchanged.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphstore.model import QuarantineRow, Record, Run, utcnow
from graphstore.store import GraphStore

from .convert import Converter, RowError
from .mapping import SAMPLE_SOURCES, SourceMapping, load_mapping, sample_mapping
from .readers import FileFormatError, check_file, read_rows

DEFAULT_BATCH = 5000

Progress = Callable[[int, int], None]  # (rows done, rows expected)


@dataclass
class LoadSummary:
    """What one load did. `read` = inserted + updated + unchanged + quarantined."""

    source: str
    file: str
    batch_id: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    elapsed: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)  # quarantine reason kind -> rows
    invalid_values: Counter[str] = field(default_factory=Counter)  # optional field -> values not usable

    @property
    def balanced(self) -> bool:
        return self.read == self.inserted + self.updated + self.unchanged + self.quarantined

    @property
    def records_per_second(self) -> float:
        return self.read / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "file": self.file, "batch_id": self.batch_id, "read": self.read,
            "inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
            "quarantined": self.quarantined, "elapsed": round(self.elapsed, 3),
            "reasons": dict(self.reasons), "invalid_values": dict(self.invalid_values),
        }


def new_batch_id(source: str) -> str:
    return f"load-{source}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def reason_kind(reason: str) -> str:
    """The category before the first colon: "missing id", "wrong type", "duplicate id"..."""
    return reason.split(":", 1)[0]


class _Loader:
    def __init__(self, store: GraphStore, mapping: SourceMapping, path: Path, batch_size: int) -> None:
        self.store = store
        self.mapping = mapping
        self.path = path
        self.file = str(path.resolve())
        self.batch_size = max(1, batch_size)
        self.batch_id = new_batch_id(mapping.name)
        self.summary = LoadSummary(mapping.name, self.file, self.batch_id)
        self.converter = Converter(mapping)
        self.seen: dict[str, tuple[str, int]] = {}  # source id -> (content hash, first line)
        self.kept_quarantine = {
            (q.line, q.reason, q.raw) for q in store.quarantined(source=mapping.name) if q.file == self.file
        }
        self.records: list[Record] = []
        self.rejects: list[QuarantineRow] = []

    def quarantine(self, line: int, raw: str, reason: str) -> None:
        self.summary.quarantined += 1
        self.summary.reasons[reason_kind(reason)] += 1
        if (line, reason, raw) not in self.kept_quarantine:
            self.rejects.append(QuarantineRow(self.mapping.name, self.file, line, raw, reason, self.batch_id))

    def flush(self) -> None:
        s = self.summary
        if self.rejects:
            self.store.add_quarantine(self.rejects)
            self.kept_quarantine.update((q.line, q.reason, q.raw) for q in self.rejects)
            self.rejects = []
        if self.records:
            known = self.store.record_hashes([r.key for r in self.records])
            changed = [r for r in self.records if known.get(r.key) != r.content_hash]
            s.unchanged += len(self.records) - len(changed)
            if changed:
                result = self.store.upsert_records(changed)
                s.inserted += len(result.inserted)
                s.updated += len(result.updated)
                s.unchanged += len(result.unchanged)
            self.records = []

    def run(self, progress: Progress | None) -> LoadSummary:
        started = time.perf_counter()
        check = check_file(self.path, self.mapping)
        run = Run(
            id=self.batch_id, kind="load", started_at=utcnow(),
            stats={"source": self.mapping.name, "file": self.file, "status": "running"},
        )
        self.store.save_run(run)
        loaded_at = utcnow()
        convert = self.converter.convert
        s = self.summary
        pending = 0
        for row in read_rows(self.path, self.mapping):
            s.read += 1
            pending += 1
            if row.values is None:
                self.quarantine(row.line, row.raw, row.error or "unparsable line")
            else:
                try:
                    rec = convert(row.values, self.batch_id, loaded_at)
                except RowError as exc:
                    self.quarantine(row.line, row.raw, str(exc))
                else:
                    first = self.seen.get(rec.source_id)
                    if first is None:
                        self.seen[rec.source_id] = (rec.content_hash, row.line)
                        self.records.append(rec)
                    elif first[0] == rec.content_hash:
                        s.unchanged += 1
                    else:
                        self.quarantine(
                            row.line, row.raw,
                            f"duplicate id: {rec.source_id!r} already read at line {first[1]} with different content",
                        )
            if pending >= self.batch_size:
                self.flush()
                pending = 0
                if progress:
                    progress(s.read, check.lines)
        self.flush()
        s.invalid_values = Counter(self.converter.invalid)
        s.elapsed = time.perf_counter() - started
        if progress:
            progress(s.read, s.read)
        run.finished_at = utcnow()
        run.stats = {**s.as_dict(), "status": "done"}
        self.store.save_run(run)
        return s


def load_file(
    store: GraphStore,
    mapping: SourceMapping | str | Path,
    path: str | Path,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> LoadSummary:
    """Load one file through a mapping (a SourceMapping, a YAML path or a sample source name).

    Raises `FileFormatError` (nothing stored) for a malformed file and `MappingError`
    for a bad mapping; row problems are quarantined, never raised.
    """
    m = load_mapping(mapping)
    return _Loader(store, m, Path(path), batch_size).run(progress)


def sample_files(folder: str | Path) -> dict[str, Path]:
    """The sample source files present in `folder`: `<source>.<format>` for each shipped mapping."""
    root = Path(folder)
    out = {}
    for source in SAMPLE_SOURCES:
        m = sample_mapping(source)
        p = root / f"{source}.{m.format}"
        if p.is_file():
            out[source] = p
    return out


def load_folder(
    store: GraphStore,
    folder: str | Path,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, LoadSummary]:
    """Load every sample source file found in `folder` (as `generate` writes them) with
    its shipped mapping. Every file is checked before the first one is loaded."""
    files = sample_files(folder)
    if not files:
        raise FileFormatError(
            f"{folder}: no sample source files (expected some of "
            + ", ".join(f"{s}.{sample_mapping(s).format}" for s in SAMPLE_SOURCES) + ")"
        )
    for source, p in files.items():
        check_file(p, sample_mapping(source))
    out = {}
    for source, p in files.items():
        cb = (lambda done, total, _s=source: progress(_s, done, total)) if progress else None
        out[source] = load_file(store, sample_mapping(source), p, batch_size=batch_size, progress=cb)
    return out
