"""Loader memory and loader latency.

Memory: ``RAGFlowLoader.lazy_load`` (chunks mode) over a large and a ten-times-smaller dataset,
each in a fresh process under ``tracemalloc``; the peaks should be about equal. Both datasets have
the same few documents; only the chunks per document differ, so the figure isolates what the
loader holds per chunk.

Latency: ``RAGFlowLoader.alazy_load`` against ``lazy_load`` over many small documents while the
server answers every chunk-list request late: the sync loader pays one round trip per document,
the async one keeps a window of requests in flight."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable

from benchmarks._context import Context
from benchmarks._fixtures import Fixtures, sentences
from benchmarks._harness import Row, compare, interleave, median
from benchmarks._server import ROOT, ServerProcess

TARGET = 1.2
WORDS_PER_CHUNK = 8
DOCUMENTS = 5
LATENCY = 0.02
LATENCY_TARGET = 0.25  # the async loader at least 4x faster than the sync one
CHUNK_LISTS = "/api/v1/datasets/*/documents/*/chunks"


def _dataset(fixtures: Fixtures, name: str, documents: int, chunks_per_document: int) -> str:
    """One chunk per line: lines of WORDS_PER_CHUNK words with chunk_token_num=WORDS_PER_CHUNK."""
    dataset_id = fixtures.create_dataset(name, chunk_token_num=WORDS_PER_CHUNK)
    files = [
        (
            f"big{index:03d}.txt",
            "\n".join(sentences(chunks_per_document, 1000 + index, WORDS_PER_CHUNK)).encode(
                "utf-8"
            ),
        )
        for index in range(documents)
    ]
    ids = fixtures.upload(dataset_id, files, batch=10)
    fixtures.parse(dataset_id, ids, timeout=1800)
    return dataset_id


def _peak(base_url: str, api_key: str, dataset_id: str) -> tuple[float, int, list[str]]:
    settings = json.dumps({"base_url": base_url, "api_key": api_key, "dataset_id": dataset_id})
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._loader_worker", settings],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["peak_bytes"]) / 2**20, int(result["documents"]), result["held_at_end"]


def run(context: Context) -> list[Row]:
    size = context.size
    with ServerProcess() as server:
        fixtures = Fixtures(server.base_url, server.api_key)
        try:
            small = _dataset(fixtures, "loader-small", DOCUMENTS, size.loader_small // DOCUMENTS)
            large = _dataset(fixtures, "loader-large", DOCUMENTS, size.loader_large // DOCUMENTS)
        finally:
            fixtures.close()
        peaks: dict[str, list[float]] = {"small": [], "large": []}
        counts: dict[str, int] = {}
        held: dict[str, list[str]] = {}
        rounds = 1 if size.name == "tiny" else 3
        for index in range(rounds):
            order = [("large", large), ("small", small)]
            for name, dataset_id in order if index % 2 == 0 else reversed(order):
                peak, counts[name], held[name] = _peak(server.base_url, server.api_key, dataset_id)
                peaks[name].append(peak)
    row = Row(
        "loader.memory",
        "Loader memory",
        f"`RAGFlowLoader.lazy_load` (chunks) over {counts['large']:,} chunks",
        f"the same over {counts['small']:,} chunks",
        "MiB peak (tracemalloc)",
        target=TARGET,
    )
    compare(row, peaks["large"], peaks["small"])
    if row.met is False:
        row.details = ["still allocated at the end of the large run (tracemalloc, by line):"]
        row.details += held["large"]
        row.details += ["the same for the small run:", *held["small"]]
    return [row]


def run_latency(context: Context) -> list[Row]:
    from ragflow_integrations._chunk_prefetch import ASYNC_WINDOW
    from ragflow_integrations.langchain import RAGFlowLoader

    documents = context.size.loader_latency_documents
    rounds = 1 if context.size.name == "tiny" else 3
    with ServerProcess() as server:
        fixtures = Fixtures(server.base_url, server.api_key)
        try:
            dataset_id, _ = fixtures.text_dataset(
                "loader-latency", documents=documents, sentences_per_document=2
            )
        finally:
            fixtures.close()
        server.call("inject_fault", CHUNK_LISTS, "GET", latency=LATENCY)
        loader = RAGFlowLoader(
            dataset_id, mode="documents", api_key=server.api_key, base_url=server.base_url
        )
        cpu: dict[str, list[float]] = {"async": [], "sync": []}

        async def aload() -> int:
            return len([document async for document in loader.alazy_load()])

        def timed(name: str, load: Callable[[], int]) -> Callable[[], float]:
            def round_() -> float:
                cpu_start, start = time.process_time(), time.perf_counter()
                loaded = load()
                seconds = time.perf_counter() - start
                cpu[name].append(time.process_time() - cpu_start)
                assert loaded == documents, (loaded, documents)
                return seconds

            return round_

        figures = interleave(
            {
                "async": timed("async", lambda: asyncio.run(aload())),
                "sync": timed("sync", lambda: len(list(loader.lazy_load()))),
            },
            rounds,
        )
    row = compare(
        Row(
            "loader.async_latency",
            "Loader under latency",
            f"`RAGFlowLoader.alazy_load` (documents) over {documents} documents, "
            f"{LATENCY * 1000:.0f} ms injected on every chunk-list request",
            "`RAGFlowLoader.lazy_load`, the same documents (one round trip per document)",
            "s",
            target=LATENCY_TARGET,
        ),
        figures["async"],
        figures["sync"],
    )
    if row.ratio:
        row.note = (
            f"speed-up {1 / row.ratio:.1f}x with {ASYNC_WINDOW} chunk requests in flight (before: "
            f"alazy_load also took one round trip per document, as long as lazy_load); client "
            f"CPU per load: async {median(cpu['async']) * 1000:.0f} ms, sync "
            f"{median(cpu['sync']) * 1000:.0f} ms"
        )
    return [row]
