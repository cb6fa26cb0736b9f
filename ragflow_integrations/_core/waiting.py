"""Waiting for work the server does in the background: one poll loop and its progress bar.

Shared by every blocking wait (documents parsing, dataset indexes): :func:`poll_until` runs a
poll operation at an interval until a condition holds or a deadline passes (sans-I/O: it yields
:class:`~ragflow_integrations._core.ops.Sleep`), :func:`progress_bar` opens the tqdm bar the
waits show with ``show_progress=True``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .ops import Op, Sleep

Clock = Callable[[], float]


def check_wait_arguments(timeout: float, poll_interval: float) -> None:
    """A ValueError before any request when the deadline or the interval cannot be used."""
    for name, value in (("timeout", timeout), ("poll_interval", poll_interval)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a number of seconds >= 0 (got {value!r})")


def poll_until(
    poll: Callable[[], Op],
    done: Callable[[Any], bool],
    *,
    timeout: float,
    poll_interval: float,
    on_result: Callable[[Any], None] | None = None,
    clock: Clock = time.monotonic,
) -> Op:
    """Run ``poll`` (an operation) until ``done(result)`` or the deadline, ``timeout`` seconds
    from now; sleeps ``poll_interval`` between polls (never past the deadline).

    Returns ``(last result, finished)``: ``finished`` is False when the deadline came first.
    ``on_result`` sees every result (progress bars, callbacks).
    """
    check_wait_arguments(timeout, poll_interval)
    deadline = clock() + timeout
    while True:
        result = yield from poll()
        if on_result is not None:
            on_result(result)
        if done(result):
            return result, True
        if clock() >= deadline:
            return result, False
        yield Sleep(max(0.0, min(poll_interval, deadline - clock())))


def progress_bar(total: int, desc: str, unit: str) -> Any:
    """A tqdm bar (the notebook widget in Jupyter); the caller sets ``n``, refreshes, closes."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit)
