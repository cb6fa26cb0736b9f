"""Import time of ``ragflow_integrations`` against ``requests``, each in fresh interpreters, and a
check that importing the package pulls in neither framework nor httpx."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks._context import Context
from benchmarks._harness import Row, compare, interleave
from benchmarks._server import ROOT

MUST_NOT_IMPORT = ("httpx", "langchain_core", "llama_index", "starlette", "uvicorn", "numpy")

_PROBE = """
import json, sys, time
start = time.perf_counter()
import {module}
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "modules": sorted(sys.modules)}}))
"""


def _import(module: str) -> tuple[float, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    return float(result["seconds"]), list(result["modules"])


def run(context: Context) -> list[Row]:
    loaded: list[str] = []

    def ours() -> float:
        seconds, modules = _import("ragflow_integrations")
        loaded[:] = modules
        return seconds

    figures = interleave(
        {"ours": ours, "requests": lambda: _import("requests")[0]}, context.size.import_runs
    )
    unwanted = sorted({name.split(".")[0] for name in loaded} & set(MUST_NOT_IMPORT))
    row = Row(
        "import.time",
        "Import",
        "`import ragflow_integrations` (fresh interpreter)",
        "`import requests` (fresh interpreter)",
        "ms",
        check=not unwanted,
        check_label="no httpx or framework imported",
        note=("imports none of " + ", ".join(MUST_NOT_IMPORT))
        if not unwanted
        else "also imports " + ", ".join(unwanted),
    )
    return [compare(row, figures["ours"], figures["requests"])]
