"""``python -m benchmarks [--size tiny|full] [--output BENCHMARKS.md] [--json FILE]``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks import (
    bench_adapters,
    bench_concurrency,
    bench_import,
    bench_index_lookups,
    bench_ingestion,
    bench_loader,
    bench_overhead,
    bench_server,
    bench_streaming,
    bench_sync,
)
from benchmarks._context import Context, prepare_corpus
from benchmarks._harness import SIZES, Row, environment
from benchmarks._server import ROOT, ServerProcess
from benchmarks.report import render
from ragflow_integrations.testing import make_test_certificates

Section = Callable[[Context], list[Row]]

# (section title, row keys it produces, runner name): a failing section still gets its rows.
SECTIONS: list[tuple[str, tuple[str, ...], str]] = [
    ("Import", ("import.time",), "import"),
    ("Per-call overhead", ("overhead.requests.http", "overhead.sdk.http"), "overhead_http"),
    ("Per-call overhead", ("overhead.requests.https", "overhead.sdk.https"), "overhead_https"),
    ("Adapter overhead", ("adapter.langchain", "adapter.llama_index"), "adapters"),
    ("Streaming", ("stream.langchain", "stream.session"), "streaming"),
    ("Async concurrency", ("async.concurrent", "async.vs_httpx", "async.vs_sync"), "concurrency"),
    ("Ingestion", ("ingest.vectorstore",), "ingestion"),
    ("Ingestion", ("ingest.requests",), "ingestion_requests"),
    ("Ingestion", ("ingest.index_insert",), "index_lookups"),
    ("Folder sync", ("sync.resync",), "sync"),
    ("Loader memory", ("loader.memory",), "loader"),
    ("Loader under latency", ("loader.async_latency",), "loader_latency"),
    ("Local server", bench_server.ROW_KEYS, "server"),
]


def _overhead_https(context: Context) -> list[Row]:
    tls = make_test_certificates(context.scratch)
    with ServerProcess(ssl_certfile=str(tls.cert_pem), ssl_keyfile=str(tls.key_pem)) as server:
        # clients verify against the test CA
        corpus = prepare_corpus(
            server.base_url, server.api_key, context.size, verify=str(tls.ca_pem)
        )
        return bench_overhead.run(context, corpus, "HTTPS")


RUNNERS: dict[str, Section] = {
    "import": bench_import.run,
    "overhead_http": lambda context: bench_overhead.run(context, context.corpus, "HTTP"),
    "overhead_https": _overhead_https,
    "adapters": bench_adapters.run,
    "streaming": bench_streaming.run,
    "concurrency": bench_concurrency.run,
    "ingestion": bench_ingestion.run,
    "ingestion_requests": bench_ingestion.run_requests,
    "index_lookups": bench_index_lookups.run,
    "sync": bench_sync.run,
    "loader": bench_loader.run,
    "loader_latency": bench_loader.run_latency,
    "server": bench_server.run,
}


def _failed(title: str, keys: tuple[str, ...], error: BaseException) -> list[Row]:
    reason = f"failed: {type(error).__name__}: {error}"
    return [Row(key, title, key, "", "", unavailable=reason[:300]) for key in keys]


def run_all(size_name: str, only: set[str] | None = None) -> tuple[list[Row], float]:
    size = SIZES[size_name]
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ragflow-bench-") as scratch, ServerProcess() as server:
        context = Context(
            size, Path(scratch), prepare_corpus(server.base_url, server.api_key, size)
        )
        for title, keys, name in SECTIONS:
            if only and name not in only:
                continue
            print(f"[bench] {name} ...", flush=True)
            section_start = time.perf_counter()
            try:
                produced = RUNNERS[name](context)
            except Exception as error:
                traceback.print_exc()
                produced = _failed(title, keys, error)
            rows.extend(produced)
            print(f"[bench] {name} done in {time.perf_counter() - section_start:.1f} s", flush=True)
    return rows, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the run (rows, machine) as JSON"
    )
    parser.add_argument(
        "--render-from",
        type=Path,
        default=None,
        help="measure nothing: re-render a run saved with --json (after editing analysis.md)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(RUNNERS),
        help="run only these sections (repeatable; for development)",
    )
    args = parser.parse_args(argv)
    if args.render_from:
        saved = json.loads(args.render_from.read_text(encoding="utf-8"))
        rows = [Row(**row) for row in saved["rows"]]
        run = {key: saved[key] for key in ("size", "seconds", "environment")}
    else:
        rows, seconds = run_all(args.size, set(args.only) if args.only else None)
        run = {"size": args.size, "seconds": seconds, "environment": environment()}
    args.output.write_text(
        render(rows, run["environment"], run["size"], run["seconds"]), encoding="utf-8"
    )
    if args.json:
        run["rows"] = [dataclasses.asdict(row) for row in rows]
        args.json.write_text(json.dumps(run, indent=1), encoding="utf-8")
    print(f"[bench] wrote {args.output} ({len(rows)} rows, {run['seconds']:.0f} s)")
    return 0
