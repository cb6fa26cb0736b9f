"""Requests per ``RAGFlowIndex.insert`` as the dataset grows.

An insert is an upsert: before uploading, the index finds the copies already stored under the
inserted ``Document.id_``. That lookup is one document listing filtered by metadata, so an insert
into a dataset of 10,000 documents sends as many requests as one into 1,000 documents (on a server
that filters listings by metadata; the benchmark server emulates v0.27). The other documents are
plain uploads; each round inserts a new id, then the same id again (a replacement)."""

from __future__ import annotations

import statistics
import time

import requests

from benchmarks._context import Context, RequestRecorder
from benchmarks._fixtures import Fixtures
from benchmarks._harness import Row

POLL_INTERVAL = 0.2
ROUNDS = 5


def _fill(fixtures: Fixtures, size: int) -> str:
    """A dataset of ``size`` small documents (unparsed: only the listing matters here)."""
    dataset_id = fixtures.create_dataset(f"index-lookups-{size}")
    files = [(f"other{index:05d}.txt", b"Another team's note.") for index in range(size)]
    fixtures.upload(dataset_id, files, batch=500)
    return dataset_id


def run(context: Context) -> list[Row]:
    from llama_index.core import Document

    from ragflow_integrations import RAGFlow
    from ragflow_integrations.llama_index import RAGFlowIndex

    corpus = context.corpus
    small, large = context.size.index_sizes
    fixtures = Fixtures(corpus.base_url, corpus.api_key)
    recorder = RequestRecorder()
    client = RAGFlow(
        api_key=corpus.api_key,
        base_url=corpus.base_url,
        session=recorder.attach(requests.Session()),
    )
    counts: dict[int, list[int]] = {small: [], large: []}
    replacing: dict[int, list[int]] = {small: [], large: []}
    seconds: dict[int, list[float]] = {small: [], large: []}
    breakdown = ""
    try:
        client.version()
        indices = {
            size: RAGFlowIndex(_fill(fixtures, size), client=client, poll_interval=POLL_INTERVAL)
            for size in (small, large)
        }
        for index_round in range(ROUNDS):
            for size in (small, large) if index_round % 2 == 0 else (large, small):
                index = indices[size]
                recorder.reset()
                start = time.perf_counter()
                index.insert(Document(id_=f"note-{index_round}", text="Herons hunt at dawn."))
                seconds[size].append(time.perf_counter() - start)
                counts[size].append(len(recorder.requests))
                if size == large:
                    breakdown = recorder.breakdown()
                recorder.reset()
                index.insert(Document(id_=f"note-{index_round}", text="Herons hunt at dusk."))
                replacing[size].append(len(recorder.requests))
    finally:
        client.close()
        fixtures.close()
    ours = float(statistics.median(counts[large]))
    baseline = float(statistics.median(counts[small]))
    row = Row(
        "ingest.index_insert",
        "Ingestion",
        f"requests per `RAGFlowIndex.insert` (new id) in a dataset of {large:,} documents",
        f"the same in a dataset of {small:,} documents",
        "requests",
        candidate=ours,
        baseline=baseline,
        ratio=ours / baseline,
        target=1.0,
        check=ours <= 6,
        check_label="≤ 6 requests",
        note=(
            f"median of {ROUNDS} inserts each; {large:,} documents: {breakdown}; "
            f"time per insert {statistics.median(seconds[large]) * 1000:.0f} ms vs "
            f"{statistics.median(seconds[small]) * 1000:.0f} ms; replacing an existing id: "
            f"{statistics.median(replacing[large]):g} vs {statistics.median(replacing[small]):g} "
            f"requests (+ delete of the old copy, + rename of the new one); parse polled every "
            f"{POLL_INTERVAL * 1000:.0f} ms"
        ),
    )
    return [row]
