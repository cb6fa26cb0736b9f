"""Drives the official ``ragflow-sdk`` inside ``.venv-sdk`` for the benchmark (stdlib + SDK only).

Protocol: one JSON object per line on stdin, one JSON reply per line on stdout. The first request
is ``{"op": "connect", "base_url": ..., "api_key": ...}``; then ``{"op": "retrieve", "calls": n,
"dataset_ids": [...], "question": ..., "page_size": k}`` answers ``{"seconds_per_call": s,
"cpu_per_call": c, "chunks": n}``. HTTPS trust comes from ``REQUESTS_CA_BUNDLE`` (the SDK
has no ``verify`` option).
"""

from __future__ import annotations

import json
import sys
import time
from importlib import metadata
from typing import Any


def main() -> None:
    from ragflow_sdk import RAGFlow  # type: ignore[import-not-found]

    client: Any = None
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        try:
            if op == "connect":
                client = RAGFlow(api_key=request["api_key"], base_url=request["base_url"])
                reply: dict[str, Any] = {"version": metadata.version("ragflow-sdk")}
            elif op == "retrieve":
                calls = request.pop("calls")
                chunks = 0
                cpu_start, start = time.process_time(), time.perf_counter()
                for _ in range(calls):
                    chunks = len(client.retrieve(**request))
                elapsed = time.perf_counter() - start
                reply = {
                    "seconds_per_call": elapsed / calls,
                    "cpu_per_call": (time.process_time() - cpu_start) / calls,
                    "chunks": chunks,
                }
            else:
                reply = {"error": f"unknown op {op!r}"}
        except Exception as error:
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
