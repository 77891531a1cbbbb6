"""Versioned YAML configuration: read, validate with pydantic, stamp with a content hash.

Every piece of configuration that changes what a report or a run says (resolution
rules, the metrics contract, exception policy) is data in YAML. This module is the one
way such a file becomes a model (rules, survivorship, metrics), so they all behave alike:

- a problem is one line naming the file, the field (or YAML line) and what was expected;
- the model gets `content_hash` (SHA-256 of the exact text), so `version+hash[:8]` tells
  two files apart even when someone edited one without bumping `version`.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the field."""


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Versioned(Strict):
    """A configuration document with a declared version and the hash of its text."""

    version: str
    content_hash: str = ""

    @property
    def full_version(self) -> str:
        """What reports and runs record: the declared version plus a short content hash."""
        return f"{self.version}+{self.content_hash[:8]}" if self.content_hash else self.version


def describe_error(exc: ValidationError) -> str:
    """`field a.b.c: what was expected (got ...)` for the first problem pydantic found."""
    err: Any = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()) if not str(p).startswith("function-"))
    kind = err.get("type")
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if kind == "literal_error":
        msg = f"expected {err.get('ctx', {}).get('expected', 'one of the allowed values')}"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind == "extra_forbidden":
        msg = "unknown field (check the spelling)"
    elif kind == "string_pattern_mismatch":
        msg = "expected a lowercase name (letters, digits, _), starting with a letter"
    got = err.get("input")
    if kind not in ("missing", "extra_forbidden") and isinstance(got, (str, int, float)) and loc:
        msg += f" (got {got!r})"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return (f"field {loc}: {msg}" if loc else msg) + more


def parse_versioned(text: str, origin: str, model: type[M], error: type[Exception] = ConfigError) -> M:
    """Validate YAML `text` (read from `origin`) into `model`, adding its `content_hash`."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise error(f"{origin}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict):
        raise error(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    data["content_hash"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{origin}: {describe_error(exc)}") from None


def load_versioned(
    path: str | Path | None, default: str, model: type[M], error: type[Exception] = ConfigError, what: str = "config"
) -> M:
    """The file at `path`, or the shipped `graphstore/defaults/<default>`."""
    if path is None:
        text = resources.files("graphstore.defaults").joinpath(default).read_text("utf-8")
        return parse_versioned(text, f"graphstore/defaults/{default}", model, error)
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise error(f"{p}: cannot read {what} file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise error(f"{p}: {what} file is not UTF-8 text") from None
    return parse_versioned(text, str(p), model, error)
