"""Tool descriptions of bounded length, whatever the number of datasets (shared by both adapters).

A tool description is sent with every model call: listing every dataset's full description there
makes a toolkit over 150 datasets cost tens of thousands of characters per call. Descriptions are
summarised (one line, cut at a word; shorter, then left out, until every dataset fits), and when
even the names do not all fit, as many as fit are listed and the rest counted with a pointer to
the listing tool, which returns them all on demand.
"""

from __future__ import annotations

from collections.abc import Sequence

DatasetAbout = tuple[str, str | None, str | None]
"""``(id, name, description)`` of a dataset."""

MAX_TOOL_DESCRIPTION_CHARS = 2000
"""Upper bound of every tool description built from server data."""
MAX_ABOUT_CHARS = 160
"""A dataset's (or assistant's) description is cut to this many characters."""
SHORT_ABOUT_CHARS = 60
"""The shorter summary used when the full ones do not all fit."""
MAX_NAME_CHARS = 80
"""A dataset's name is cut to this many characters."""

__all__ = [
    "MAX_ABOUT_CHARS",
    "MAX_NAME_CHARS",
    "MAX_TOOL_DESCRIPTION_CHARS",
    "SHORT_ABOUT_CHARS",
    "DatasetAbout",
    "dataset_line",
    "datasets_description",
    "summarise",
]


def summarise(text: str | None, max_chars: int = MAX_ABOUT_CHARS) -> str:
    """``text`` on one line (whitespace collapsed), cut at a word boundary with ``…`` when longer
    than ``max_chars``."""
    line = " ".join((text or "").split())
    if len(line) <= max_chars:
        return line
    cut = line[: max_chars - 1]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def dataset_line(
    dataset_id: str, name: str | None, description: str | None, about_chars: int = MAX_ABOUT_CHARS
) -> str:
    """``- name (id …): summary`` for one dataset (no summary when ``about_chars`` is 0)."""
    about = summarise(description, about_chars) if about_chars > 0 else ""
    line = f"- {summarise(name, MAX_NAME_CHARS) or '(unnamed)'} (id {dataset_id})"
    return line + (f": {about}" if about else "")


def datasets_description(
    intro: str,
    datasets: Sequence[DatasetAbout],
    *,
    listing_tool: str,
    max_chars: int = MAX_TOOL_DESCRIPTION_CHARS,
) -> str:
    """``intro`` followed by one line per ``(id, name, description)``, within ``max_chars``.

    Summaries get shorter (then are left out) until every dataset fits; when even names alone do
    not fit, as many as fit are listed and the rest counted, pointing at ``listing_tool``.
    """
    text = intro
    for about_chars in (MAX_ABOUT_CHARS, SHORT_ABOUT_CHARS, 0):
        lines = [dataset_line(*dataset, about_chars=about_chars) for dataset in datasets]
        text, shown = _fit(intro, lines, listing_tool, max_chars)
        if shown == len(lines):
            break
    return text


def _fit(intro: str, lines: Sequence[str], listing_tool: str, max_chars: int) -> tuple[str, int]:
    """``intro`` and as many ``lines`` as fit in ``max_chars`` (the rest counted); how many."""
    total = len(lines)
    room = max_chars - (len(_more(total, listing_tool)) if total else 0)
    if len(intro) > room:
        intro = summarise(intro, room)
    text = intro
    for shown, line in enumerate(lines):
        rest = total - shown - 1
        tail = _more(rest, listing_tool) if rest else ""
        if len(text) + 1 + len(line) + len(tail) > max_chars:
            return text + _more(total - shown, listing_tool), shown
        text += "\n" + line
    return text, total


def _more(count: int, listing_tool: str) -> str:
    noun = "dataset" if count == 1 else "datasets"
    return f"\n… and {count} more {noun} (call {listing_tool} to see them all)"
