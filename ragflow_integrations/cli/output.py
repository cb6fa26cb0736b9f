"""Plain tables for people and JSON for scripts."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["clip", "print_json", "print_table", "terminal_width"]

_SPACES = re.compile(r"\s+")


def terminal_width() -> int:
    """Columns of the terminal (``COLUMNS`` or 100 when there is none)."""
    return max(40, shutil.get_terminal_size((100, 24)).columns)


def clip(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = _SPACES.sub(" ", str(text)).strip()
    if len(flat) <= width:
        return flat
    return flat[: max(0, width - 1)].rstrip() + "…"


def print_table(
    out: TextIO,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    right: Sequence[int] = (),
    width: int | None = None,
) -> None:
    """Aligned columns; the last one is cut to fit ``width`` (the terminal's by default)."""
    cells = [[clip(str(value), 10_000) for value in row] for row in rows]
    sizes = [len(header) for header in headers]
    for row in cells:
        for index, value in enumerate(row[:-1]):
            sizes[index] = max(sizes[index], len(value))
    room = (width or terminal_width()) - sum(sizes[:-1]) - 2 * (len(headers) - 1)
    last = max(12, room)
    for row in [list(headers), *cells]:
        parts = []
        for index, value in enumerate(row):
            if index == len(row) - 1:
                parts.append(clip(value, last))
            elif index in right:
                parts.append(value.rjust(sizes[index]))
            else:
                parts.append(value.ljust(sizes[index]))
        out.write("  ".join(parts).rstrip() + "\n")


def print_json(out: TextIO, value: Any) -> None:
    """``value`` as indented JSON (UTF-8 text kept as is)."""
    out.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")
