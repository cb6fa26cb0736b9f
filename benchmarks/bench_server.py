"""The local server's own figures, from ``benchmarks/server_bench.py`` (owned by the server)."""

from __future__ import annotations

from benchmarks._context import Context
from benchmarks._harness import Row

ROW_KEYS = ("server.retrieval", "server.startup", "server.parsing")


def run(context: Context) -> list[Row]:
    from benchmarks import server_bench  # type: ignore[attr-defined]

    raise NotImplementedError(f"server_bench has landed: {server_bench}; wire it up")
