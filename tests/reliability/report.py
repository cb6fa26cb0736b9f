"""Generate RELIABILITY.md from an actual run of the reliability suite.

Usage (from the repository root)::

    .venv/bin/python tests/reliability/report.py            # runs the suite, writes RELIABILITY.md
    .venv/bin/python tests/reliability/report.py --ledger run.json --junit run.xml  # reuse a run

Every figure in the file comes from the run: the tests record each fault they inject (how many times
it fired, how many requests the client sent, what the caller got, the data check afterwards) in a
JSON ledger, and pytest's JUnit XML gives the pass/fail counts and durations.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SUITE = "tests/reliability"
LEDGER_ENV = "RAGFLOW_RELIABILITY_LEDGER"

AREA_ORDER = [
    "retries",
    "non-idempotent writes",
    "streams",
    "timeouts",
    "connection",
    "paging",
    "bad answers",
    "ingestion",
    "bad input",
    "load",
    "secrets and TLS",
    "deletes",
    "adapters",
]


def run_suite(ledger: Path, junit: Path) -> int:
    """Run the suite once, writing the ledger and the JUnit XML; returns pytest's exit code."""
    env = dict(os.environ, **{LEDGER_ENV: str(ledger)})
    command = [
        sys.executable,
        "-m",
        "pytest",
        SUITE,
        "-q",
        "-p",
        "no:randomly",
        f"--junitxml={junit}",
    ]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def _failure_message(case: ET.Element) -> str:
    """The first line of a failed test's assertion message, shortened."""
    node = case.find("failure")
    if node is None:
        node = case.find("error")
    text = (node.get("message") if node is not None else "") or ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:220] + ("…" if len(first) > 220 else "")


def junit_summary(junit: Path) -> dict[str, Any]:
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    tests = int(suite.get("tests", 0))
    failures = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    return {
        "tests": tests,
        "passed": tests - failures - skipped,
        "failed": failures,
        "skipped": skipped,
        "seconds": float(suite.get("time", 0.0)),
        "failed_cases": [
            (f"{case.get('classname')}::{case.get('name')}", _failure_message(case))
            for case in suite.iter("testcase")
            if case.find("failure") is not None or case.find("error") is not None
        ],
    }


LIMITS = """\
## How the faults were made, and what is not covered

* Faults come from `LocalRAGFlowServer.inject_fault` (status + Retry-After + raw body, latency,
  dropped connection, stream cut after N events). Its status faults answer *before* the route
  handler runs, so "the server did the work, then a 5xx came back" cannot be injected. The
  non-idempotent write tests therefore use `cut_stream_after=0` (the handler runs, then the
  connection closes after the response headers) and a latency above the read timeout, and
  count the objects afterwards; the status-before-handler rows prove only "not retried".
* Malformed SSE lines, error events mid-stream and stalled streams come from a tiny stdlib
  server in the tests (`RogueServer` in `tests/reliability/_reliability.py`), because the
  fault injection has no such modes.
* The client has no option for its backoff base, so the suite shrinks the exponential backoff
  by patching `TransportOptions.policy` (Retry-After handling is untouched); one test runs the
  library's default backoff.
* The load test runs the server in a child process so that tracemalloc and the socket count
  see only the client. The memory figure is what one traced round left allocated after it
  ended (a leak of one response per call would be megabytes).
* Everything runs over loopback: real network effects (packet loss, slow DNS, TLS renegotiation,
  proxies that buffer SSE) are out of scope.
"""


def _total_sent(rows: list[dict[str, Any]]) -> str:
    counted = [int(r["requests_sent"]) for r in rows if r["requests_sent"] is not None]
    return str(sum(counted)) if counted else "-"


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            check=False,
        ).stdout.strip()
        or "unknown"
    )
    by_area: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_area[row["area"]].append(row)
    areas = [a for a in AREA_ORDER if a in by_area] + sorted(set(by_area) - set(AREA_ORDER))
    faults = [r for r in rows if r["area"] != "bad input"]
    injected = sum(int(r["injected"]) for r in faults)
    examples = sum(int(r["injected"]) for r in rows if r["area"] == "bad input")
    lost_free = sum(1 for r in faults if r["outcome"] == "passed")
    lines = [
        "# Reliability report",
        "",
        "Generated by `tests/reliability/report.py` from one run of `tests/reliability/` against",
        "`LocalRAGFlowServer` over loopback. Every number below was measured in that run; re-run",
        "the script to refresh it.",
        "",
        f"* Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{commit}`, Python "
        f"{platform.python_version()} on {platform.system()}.",
        f"* Tests: **{summary['passed']} passed**, {summary['failed']} failed, "
        f"{summary['skipped']} skipped, in {summary['seconds']:.1f} s.",
        f"* Fault scenarios: {len(faults)} ({injected} injected faults fired); {lost_free} passed "
        "their checks (typed error or success, and the data check afterwards).",
        f"* Bad input: {examples} property-based calls (hypothesis) in "
        f"{len(rows) - len(faults)} groups.",
        "",
        "| area | scenarios | faults fired | requests sent | passed | failed |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {area} | {len(by_area[area])} | "
            f"{sum(int(r['injected']) for r in by_area[area])} | "
            f"{_total_sent(by_area[area])} | "
            f"{sum(1 for r in by_area[area] if r['outcome'] == 'passed')} | "
            f"{sum(1 for r in by_area[area] if r['outcome'] != 'passed')} |"
            for area in areas
        ),
        "",
        "For *bad input* the *faults fired* column counts hypothesis calls, and *caller saw*",
        "tallies how they ended (a typed error, a ValueError/TypeError, or success).",
        "",
        "Columns: *fired* = how many times the injected fault actually hit a request (counted on",
        "the wire or by the server); *sent* = requests the client put on the wire for the call;",
        "*caller saw* = the return value or the exception type and message; *data check* = what a",
        "count afterwards showed (nothing lost, nothing duplicated); *result* = the test outcome.",
        "",
    ]
    if summary["failed_cases"]:
        lines += ["Failing tests in this run (each shows a defect that is still open):", ""]
        lines += [f"* `{name}`: {cell(message)}" for name, message in summary["failed_cases"]]
        lines.append("")
    for area in areas:
        lines += [
            f"## {area.capitalize()}",
            "",
            "| fault | fired | sent | caller saw | data check | time (s) | result |",
            "|---|---:|---:|---|---|---:|---|",
        ]
        for row in by_area[area]:
            lines.append(
                f"| {cell(row['fault'])} | {row['injected']} | "
                f"{'-' if row['requests_sent'] is None else row['requests_sent']} | "
                f"{cell(row['caller_saw'])} | {cell(row['data_check'])} | "
                f"{float(row['seconds']):.2f} | {row['outcome']} |"
            )
        lines.append("")
    lines.append(LIMITS)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", type=Path, help="reuse this ledger instead of running")
    parser.add_argument("--junit", type=Path, help="JUnit XML of the same run (with --ledger)")
    parser.add_argument("--output", type=Path, default=ROOT / "RELIABILITY.md")
    args = parser.parse_args()
    exit_code = 0
    if args.ledger:
        ledger, junit = args.ledger, args.junit
        if junit is None:
            parser.error("--junit is required with --ledger")
    else:
        workdir = Path(tempfile.mkdtemp(prefix="reliability-"))
        ledger, junit = workdir / "ledger.json", workdir / "junit.xml"
        exit_code = run_suite(ledger, junit)
    rows = json.loads(ledger.read_text(encoding="utf-8")) if ledger.exists() else []
    args.output.write_text(render(rows, junit_summary(junit)), encoding="utf-8")
    print(f"wrote {args.output} ({len(rows)} fault rows, pytest exit code {exit_code})")
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
