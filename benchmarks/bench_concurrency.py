"""Async concurrency: many concurrent ``AsyncRAGFlow.retrieve`` calls against a server that answers
retrieval after an injected latency, compared with one call, with the same concurrent requests sent
by a bare ``httpx.AsyncClient``, and with the sync sequential loop.

The dataset is small (a few chunks) so that the injected latency, not the server's own work,
dominates one call; the server still handles the requests one after another on its event loop.
"""

from __future__ import annotations

import asyncio
import cProfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._context import PAGE_SIZE, QUESTION, Context
from benchmarks._fixtures import Fixtures
from benchmarks._harness import Row, compare, median
from benchmarks._profile import top_own
from benchmarks._server import ServerProcess

LATENCY = 0.05
TARGET = 3.0
RETRIEVAL_PATH = "/api/v1/retrieval"

Make = Callable[[], Awaitable[object]]


async def _alternate(
    makes: dict[str, Make],
    rounds: int,
    cpu: dict[str, list[float]] | None = None,
    warmup: bool = True,
    server_cpu: Callable[[], float] | None = None,
) -> dict[str, list[float]]:
    """Async twin of ``interleave``: one warm-up each, then A B ... B A rounds; the wall seconds
    of each round, and CPU seconds in ``cpu`` when given: this process's under the variant's
    name, the server's (read with ``server_cpu`` outside the timed part) under ``server:name``."""
    names = list(makes)
    for name in names if warmup else ():
        await makes[name]()
    figures: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            server_start = server_cpu() if server_cpu else 0.0
            cpu_start, start = time.process_time(), time.perf_counter()
            await makes[name]()
            figures[name].append(time.perf_counter() - start)
            if cpu is not None:
                cpu.setdefault(name, []).append(time.process_time() - cpu_start)
            if cpu is not None and server_cpu:
                cpu.setdefault(f"server:{name}", []).append(server_cpu() - server_start)
    return figures


async def _captured_request(base_url: str, api_key: str, kwargs: dict[str, Any]) -> Any:
    """The httpx request ``AsyncRAGFlow.retrieve`` sends (via a hooked client)."""
    import httpx

    from ragflow_integrations import AsyncRAGFlow

    sent: list[httpx.Request] = []

    async def keep(request: httpx.Request) -> None:
        sent.append(request)

    hooked = httpx.AsyncClient(event_hooks={"request": [keep]})
    async with AsyncRAGFlow(api_key=api_key, base_url=base_url, http_client=hooked) as client:
        await client.retrieve(QUESTION, **kwargs)
    await hooked.aclose()
    return sent[-1]


def run(context: Context) -> list[Row]:
    import httpx

    from ragflow_integrations import AsyncRAGFlow, RAGFlow

    size = context.size
    n = size.concurrency
    rounds = max(3, size.rounds // 2)
    with ServerProcess() as server:
        fixtures = Fixtures(server.base_url, server.api_key)
        try:
            dataset_id, chunks = fixtures.text_dataset(
                "concurrency", documents=1, sentences_per_document=6, chunk_token_num=24
            )
        finally:
            fixtures.close()
        server.call("inject_fault", RETRIEVAL_PATH, latency=LATENCY)
        kwargs: dict[str, Any] = {"dataset_ids": [dataset_id], "page": 1, "page_size": PAGE_SIZE}

        cpu: dict[str, list[float]] = {}
        profile: list[str] = []

        async def measure() -> tuple[dict[str, list[float]], dict[str, list[float]]]:
            request = await _captured_request(server.base_url, server.api_key, kwargs)
            async with (
                AsyncRAGFlow(api_key=server.api_key, base_url=server.base_url) as client,
                httpx.AsyncClient() as bare,
            ):

                async def ours_many() -> object:
                    return await asyncio.gather(
                        *(client.retrieve(QUESTION, **kwargs) for _ in range(n))
                    )

                async def ours_one() -> object:
                    return await client.retrieve(QUESTION, **kwargs)

                async def bare_call() -> object:
                    response = await bare.request(
                        request.method,
                        request.url,
                        headers=request.headers,
                        content=request.content,
                    )
                    return response.json()["data"]["chunks"]

                async def bare_many() -> object:
                    return await asyncio.gather(*(bare_call() for _ in range(n)))

                async_figures = await _alternate(
                    {"many": ours_many, "one": ours_one, "bare_many": bare_many},
                    rounds,
                    cpu,
                    server_cpu=server.cpu_seconds,
                )
                with RAGFlow(api_key=server.api_key, base_url=server.base_url) as sync_client:
                    sync_client.retrieve(QUESTION, **kwargs)  # the warm-up the loop skips

                    async def sequential() -> object:
                        return [sync_client.retrieve(QUESTION, **kwargs) for _ in range(n)]

                    sync_figures = await _alternate(
                        {"many": ours_many, "sequential": sequential},
                        max(1, rounds // 4),
                        warmup=False,
                    )
                if median(async_figures["many"]) > TARGET * median(async_figures["one"]):
                    profiler = cProfile.Profile()
                    profiler.enable()
                    await ours_many()
                    profiler.disable()
                    profile[:] = top_own(profiler, 1)
            return async_figures, sync_figures

        async_figures, sync_figures = asyncio.run(measure())

    many = f"{n} concurrent `AsyncRAGFlow.retrieve`"
    scaling = compare(
        Row(
            "async.concurrent",
            "Async concurrency",
            f"{many} ({LATENCY * 1000:.0f} ms injected server latency, {chunks} chunks)",
            "one `AsyncRAGFlow.retrieve`",
            "s",
            target=TARGET,
        ),
        async_figures["many"],
        async_figures["one"],
    )
    scaling.note = (
        f"CPU per batch of {n}: client {median(cpu['many']) * 1000:.0f} ms (bare httpx "
        f"{median(cpu['bare_many']) * 1000:.0f} ms), server "
        f"{median(cpu['server:many']) * 1000:.0f} ms (one call: server "
        f"{median(cpu['server:one']) * 1000:.1f} ms); the server answers on one event loop"
    )
    scaling.details = [f"client side of one batch of {n}:", *profile] if profile else []
    versus_bare = compare(
        Row(
            "async.vs_httpx",
            "Async concurrency",
            many,
            f"the same {n} requests through a bare `httpx.AsyncClient` (default limits)",
            "s",
        ),
        async_figures["many"],
        async_figures["bare_many"],
    )
    if versus_bare.baseline:
        one = median(async_figures["one"])
        versus_bare.note = f"bare httpx: {versus_bare.baseline / one:.1f}x the time of one call"
    speedup = compare(
        Row("async.vs_sync", "Async concurrency", many, f"{n} sequential `RAGFlow.retrieve`", "s"),
        sync_figures["many"],
        sync_figures["sequential"],
    )
    if speedup.ratio:
        speedup.note = f"speed-up {1 / speedup.ratio:.1f}x over the sync sequential loop"
    return [scaling, versus_bare, speedup]
