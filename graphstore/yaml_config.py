"""Config files as data: YAML parsed, validated by a pydantic model, versioned by content.

Rules and survivorship are both "config is data" (DESIGN.md): a typo must be a one-line
error naming the file, the field and what was expected, never a silently different
result; and every result must say which config produced it. This module is that
pattern once, for any pydantic model: parse, validate, explain the first error, and
hand back the content hash a version string is built from.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def content_hash(text: str) -> str:
    """sha256 of the file text: editing a config without bumping `version` still changes it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def describe_error(err: Any) -> str:
    """One pydantic error as `field.path: what was expected (got ...)`."""
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
    return f"field {loc}: {msg}" if loc else msg


def parse_model(text: str, origin: str, model: type[M], error: type[Exception], **extra: Any) -> M:
    """YAML `text` validated as `model`; any problem raises `error` with one line naming `origin`.

    `extra` keys are added to the parsed mapping before validation (e.g. the content hash).
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise error(f"{origin}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict):
        raise error(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    data.update(extra)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise error(f"{origin}: {describe_error(exc.errors()[0])}{more}") from None


def read_config(
    path: str | Path | None, default_name: str, model: type[M], error: type[Exception], what: str
) -> M:
    """The config at `path`, or the shipped `graphstore/defaults/<default_name>`.

    The model must accept a `content_hash` field: it is filled from the file text.
    """
    if path is None:
        text = resources.files("graphstore.defaults").joinpath(default_name).read_text("utf-8")
        origin = f"graphstore/defaults/{default_name}"
    else:
        p = Path(path)
        try:
            text = p.read_text("utf-8")
        except OSError as exc:
            raise error(f"{p}: cannot read {what} file ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise error(f"{p}: {what} file is not UTF-8 text") from None
        origin = str(p)
    return parse_model(text, origin, model, error, content_hash=content_hash(text))
