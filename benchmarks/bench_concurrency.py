"""Async concurrency: many concurrent ``AsyncRAGFlow.retrieve`` calls against a server that answers
retrieval after an injected latency, compared with one call and with the sync sequential loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from benchmarks._context import PAGE_SIZE, QUESTION, Context, prepare_corpus
from benchmarks._harness import Row, compare
from benchmarks._server import ServerProcess

LATENCY = 0.05
TARGET = 3.0
RETRIEVAL_PATH = "/api/v1/retrieval"


async def _timed(make: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await make()
    return time.perf_counter() - start


def run(context: Context) -> list[Row]:
    from ragflow_integrations import AsyncRAGFlow, RAGFlow

    size = context.size
    n = size.concurrency
    with ServerProcess() as server:
        corpus = prepare_corpus(server.base_url, server.api_key, size)
        server.call("inject_fault", RETRIEVAL_PATH, latency=LATENCY)
        kwargs = {"dataset_ids": [corpus.dataset_id], "page": 1, "page_size": PAGE_SIZE}

        async def measure() -> tuple[list[float], list[float], list[float], list[float]]:
            one: list[float] = []
            many: list[float] = []
            many_again: list[float] = []
            sequential: list[float] = []
            async with AsyncRAGFlow(api_key=corpus.api_key, base_url=corpus.base_url) as aclient:

                def gather() -> Awaitable[list[object]]:
                    return asyncio.gather(*(aclient.retrieve(QUESTION, **kwargs) for _ in range(n)))

                def single() -> Awaitable[object]:
                    return aclient.retrieve(QUESTION, **kwargs)

                await gather()  # warm-up: version probe and connections
                for index in range(size.rounds):
                    pair = [(many, gather), (one, single)]
                    for figures, make in pair if index % 2 == 0 else reversed(pair):
                        figures.append(await _timed(make))
                with RAGFlow(api_key=corpus.api_key, base_url=corpus.base_url) as client:
                    client.retrieve(QUESTION, **kwargs)
                    for _ in range(max(1, size.rounds // 5)):
                        many_again.append(await _timed(gather))
                        start = time.perf_counter()
                        for _ in range(n):
                            client.retrieve(QUESTION, **kwargs)
                        sequential.append(time.perf_counter() - start)
            return one, many, many_again, sequential

        one, many, many_again, sequential = asyncio.run(measure())

    scaling = compare(
        Row(
            "async.concurrent",
            "Async concurrency",
            f"{n} concurrent `AsyncRAGFlow.retrieve` ({LATENCY * 1000:.0f} ms server latency)",
            "one `AsyncRAGFlow.retrieve`",
            "s",
            target=TARGET,
        ),
        many,
        one,
    )
    speedup = compare(
        Row(
            "async.vs_sync",
            "Async concurrency",
            f"{n} concurrent `AsyncRAGFlow.retrieve`",
            f"{n} sequential `RAGFlow.retrieve`",
            "s",
        ),
        many_again,
        sequential,
    )
    if speedup.ratio:
        speedup.note = f"speed-up {1 / speedup.ratio:.1f}x over the sync sequential loop"
    return [scaling, speedup]
