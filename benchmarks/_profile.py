"""cProfile comparisons attached to a figure whose target is missed: where the extra time goes."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
Key = tuple[str, int, str]


def _where(key: Key) -> str:
    filename, line, function = key
    if filename.startswith(_ROOT):
        filename = filename[len(_ROOT) + 1 :]
    elif "site-packages/" in filename:
        filename = filename.split("site-packages/", 1)[1]
    elif "/lib/python3" in filename:
        filename = "stdlib/" + filename.split("/lib/python3", 1)[1].split("/", 1)[-1]
    else:
        return function
    return f"{function} ({filename}:{line})"


def own_times(profiler: cProfile.Profile, calls: int) -> dict[Key, tuple[float, float]]:
    """Own seconds and call count per function, per operation, from a finished profile."""
    raw = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return {key: (own / calls, ncalls / calls) for key, (_, ncalls, own, _, _) in raw.items()}


def _own_times(function: Callable[[], object], calls: int) -> dict[Key, tuple[float, float]]:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        function()
    profiler.disable()
    return own_times(profiler, calls)


def top_own(profiler: cProfile.Profile, calls: int, top: int = 12) -> list[str]:
    """The functions with the most own time per operation in a finished profile."""
    times = own_times(profiler, calls)
    total = sum(own for own, _ in times.values())
    lines = [f"profiled per operation: {total * 1e3:,.1f} ms own time (cProfile inflates it)"]
    for key, (own, ncalls) in sorted(times.items(), key=lambda item: -item[1][0])[:top]:
        lines.append(f"  {own * 1e3:8.2f} ms  ({ncalls:g} calls/op)  {_where(key)}")
    return lines


def extra_time(
    candidate: Callable[[], object], baseline: Callable[[], object], calls: int, top: int = 12
) -> list[str]:
    """Profile both; the functions whose own time per call grows most from baseline to candidate.

    Profiling inflates small functions, so read the lines as a ranking, not as exact costs.
    """
    ours, theirs = _own_times(candidate, calls), _own_times(baseline, calls)
    total_ours = sum(own for own, _ in ours.values())
    total_theirs = sum(own for own, _ in theirs.values())
    growth = sorted(
        ((own - theirs.get(key, (0.0, 0.0))[0], key) for key, (own, _) in ours.items()),
        reverse=True,
    )
    lines = [
        f"profiled per call: candidate {total_ours * 1e6:,.0f} µs, baseline "
        f"{total_theirs * 1e6:,.0f} µs (cProfile inflates both)",
        "extra own time per call (candidate - baseline), largest first:",
    ]
    for extra, key in growth[:top]:
        ncalls = ours[key][1]
        lines.append(f"  {extra * 1e6:+9.1f} µs  ({ncalls:g} calls/op)  {_where(key)}")
    return lines
