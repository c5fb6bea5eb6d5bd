"""A tiny JSON-path subset for probe content checks: $.a.b[0]['c-d'] (no wildcards, no filters)."""
from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[['\"]([^'\"]+)['\"]\]|^([A-Za-z_][\w-]*)")
_MISSING = object()


class JsonPathError(ValueError):
    """A path that this subset cannot parse."""


def parse_path(path: str) -> tuple[str | int, ...]:
    """Split a path like $.data.items[0].ok into keys and indexes; raise JsonPathError if malformed."""
    text = path.strip()
    text = text[1:] if text.startswith("$") else text
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position) if position else _TOKEN.match(text)
        if match is None or match.start() != position:
            raise JsonPathError(
                f"JSON path {path!r} is not understood at {text[position:]!r}; "
                "write e.g. $.status or $.data.items[0]['state']")
        name, index, quoted, bare = match.groups()
        steps.append(int(index) if index is not None else (name or quoted or bare))
        position = match.end()
    return tuple(steps)


def lookup(document: Any, path: str) -> Any:
    """The value at `path` in a decoded JSON document, or KeyError if it is absent."""
    value = document
    for step in parse_path(path):
        if isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            raise KeyError(f"{path}: no {step!r}")
    return value


def as_text(value: Any) -> str:
    """JSON scalars as text for comparison with configured expectations (true, 1.5, ok)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)
