"""The benchmark harness end to end at ``--size tiny``: every required row is in the table with a
positive, finite ratio. No time is asserted; the figures themselves are BENCHMARKS.md's business."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]

# The figures the benchmark must report (issue 7), by row key.
REQUIRED_ROWS = (
    "import.time",
    "overhead.requests.http",
    "overhead.sdk.http",
    "overhead.requests.https",
    "overhead.sdk.https",
    "adapter.langchain",
    "adapter.llama_index",
    "stream.langchain",
    "stream.session",
    "async.concurrent",
    "async.vs_httpx",
    "async.vs_sync",
    "ingest.vectorstore",
    "ingest.index_insert",
    "sync.resync",
    "loader.memory",
    "loader.async_latency",
    "server.retrieval",
    "server.startup",
    "server.parsing",
)
# Rows measured against the official SDK, which may be impossible to install (no registry access).
SDK_ROWS = {"overhead.sdk.http", "overhead.sdk.https"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, dict[str, object]]]:
    folder = tmp_path_factory.mktemp("bench")
    table, rows = folder / "BENCHMARKS.md", folder / "rows.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--size",
            "tiny",
            "--output",
            str(table),
            "--json",
            str(rows),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    run = json.loads(rows.read_text(encoding="utf-8"))
    parsed = {str(row["key"]): row for row in run["rows"]}
    return table.read_text(encoding="utf-8"), parsed


def test_every_required_row_has_a_positive_ratio(
    tiny_run: tuple[str, dict[str, dict[str, object]]],
) -> None:
    _, rows = tiny_run
    assert set(REQUIRED_ROWS) <= set(rows), sorted(set(REQUIRED_ROWS) - set(rows))
    for key in REQUIRED_ROWS:
        row = rows[key]
        unavailable = str(row["unavailable"])
        if key in SDK_ROWS and unavailable.startswith("not installable"):
            continue
        assert not unavailable, f"{key}: {unavailable}"
        ratio = row["ratio"]
        assert isinstance(ratio, float) and math.isfinite(ratio) and ratio > 0, (key, ratio)
        for figure in ("candidate", "baseline"):
            value = row[figure]
            assert isinstance(value, float) and value > 0, (key, figure, value)


def test_table_lists_every_row_with_machine_and_versions(
    tiny_run: tuple[str, dict[str, dict[str, object]]],
) -> None:
    table, rows = tiny_run
    table_lines = [line for line in table.splitlines() if line.startswith("| ")]
    for key, row in rows.items():
        label = str(row["label"]).replace("|", "\\|")
        assert any(line.startswith(f"| {label} |") for line in table_lines), key
    for fact in (
        "cores",
        "RAM",
        "Python",
        "requests",
        "httpx",
        "langchain-core",
        "llama-index-core",
        "size `tiny`",
    ):
        assert fact in table, fact


def test_importing_the_package_leaves_frameworks_and_httpx_out(
    tiny_run: tuple[str, dict[str, dict[str, object]]],
) -> None:
    _, rows = tiny_run
    assert rows["import.time"]["check"] is True, rows["import.time"]["note"]
