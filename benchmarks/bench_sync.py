"""Folder sync: ``ragflow-integrations sync`` over an unchanged folder against the first sync of
the same files into a new dataset. The program runs in this process; every HTTP request it sends
is counted at ``requests``' adapter, so the figures include the version probe and the lookups."""

from __future__ import annotations

import io
import math
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from benchmarks._context import Context, RequestRecorder
from benchmarks._fixtures import sentences
from benchmarks._harness import Row, compare

POLL_INTERVAL = 0.05


def _write_folder(folder: Path, count: int) -> None:
    for index in range(count):
        sub = folder / ("guides", "reference/api", "faq", "")[index % 4]
        sub.mkdir(parents=True, exist_ok=True)
        text = " ".join(sentences(3, 90_000 + index))
        (sub / f"page-{index:04d}.md").write_text(f"# Page {index}\n{text}\n", encoding="utf-8")


@contextmanager
def _counted(recorder: RequestRecorder) -> Iterator[None]:
    """Every request any ``requests`` session sends meanwhile lands in ``recorder``."""
    original = HTTPAdapter.send

    def send(self: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        recorder.requests.append(request)
        return original(self, request, **kwargs)

    HTTPAdapter.send = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        HTTPAdapter.send = original  # type: ignore[method-assign]


def run(context: Context) -> list[Row]:
    from ragflow_integrations import RAGFlow
    from ragflow_integrations.cli import main

    corpus = context.corpus
    count = context.size.ingest_documents
    rounds = 1 if context.size.name == "tiny" else 3
    folder = context.scratch / "sync-folder"
    _write_folder(folder, count)
    connection = ["--base-url", corpus.base_url, "--api-key", corpus.api_key, "--no-progress"]
    first_recorder, again_recorder = RequestRecorder(), RequestRecorder()
    first_times: list[float] = []
    again_times: list[float] = []
    created: list[str] = []

    def sync(recorder: RequestRecorder, dataset: str, *extra: str) -> float:
        argv = ["sync", str(folder), "--dataset", dataset, "--poll-interval", str(POLL_INTERVAL)]
        out = io.StringIO()
        recorder.reset()
        with _counted(recorder):
            start = time.perf_counter()
            code = main([*argv, *extra, *connection], stdout=out)
            seconds = time.perf_counter() - start
        if code != 0:
            raise RuntimeError(f"sync exited {code}: {out.getvalue()[-2000:]}")
        return seconds

    try:
        for index in range(rounds):
            dataset = f"sync-bench-{index}-{uuid.uuid4().hex[:6]}"
            created.append(dataset)
            first_times.append(sync(first_recorder, dataset, "--create"))
            again_times.append(sync(again_recorder, dataset))
    finally:
        with RAGFlow(api_key=corpus.api_key, base_url=corpus.base_url) as client:
            ids = [d.id for d in client.iter_datasets() if d.name in created]
            client.delete_datasets(ids)
    again_writes = [r for r in again_recorder.requests if r.method not in ("GET", "HEAD")]
    budget = 2 + math.ceil(count / 100)  # version probe + dataset lookup + listing pages
    row = Row(
        "sync.resync",
        "Folder sync",
        f"`ragflow-integrations sync` over an unchanged folder of {count} files",
        f"the first sync of the same {count} files into a new dataset (upload, parse, wait)",
        "s",
        note=(
            f"requests: unchanged re-sync {len(again_recorder.requests)} "
            f"({again_recorder.breakdown()}); first sync {len(first_recorder.requests)} "
            f"({first_recorder.breakdown()}); parse polled every {POLL_INTERVAL * 1000:.0f} ms"
        ),
        check=not again_writes and len(again_recorder.requests) <= budget,
        check_label=f"no upload or write, ≤ {budget} requests",
    )
    return [compare(row, again_times, first_times)]
