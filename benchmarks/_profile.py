"""cProfile summaries attached to a figure whose target is missed: where the time goes."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)


def _where(filename: str, line: int, function: str) -> str:
    if filename.startswith(_ROOT):
        filename = filename[len(_ROOT) + 1 :]
    elif "site-packages/" in filename:
        filename = filename.split("site-packages/", 1)[1]
    elif filename.startswith("~") or filename.startswith("<"):
        return function
    return f"{function} ({filename}:{line})"


def hot_spots(function: Callable[[], object], calls: int, top: int = 10) -> list[str]:
    """Profile ``calls`` calls of ``function``; the top functions by own time, per call."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        function()
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    total = sum(entry[1][2] for entry in entries) or 1.0
    lines = []
    for (filename, line, name), (_, ncalls, own, cumulative, _) in entries[:top]:
        lines.append(
            f"{own / calls * 1e6:8.1f} µs own, {cumulative / calls * 1e6:8.1f} µs cumulative "
            f"({own / total:5.1%}), {ncalls / calls:g} calls/op: {_where(filename, line, name)}"
        )
    return lines
