"""Load: 200 concurrent async retrievals plus 20 concurrent ingestions against a local server (in
its own process): no errors, a bounded connection pool, and stable client memory across rounds."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _reliability import (
    ServerProcess,
    SocketSampler,
    open_sockets_to,
    pending_fault_uses,
    seed_dataset,
    unique,
)

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.ingest import IngestItem, aingest_documents

pytestmark = pytest.mark.live

KEY = "ragflow-load-test-key-0042"
RETRIEVALS = 200
INGESTIONS = 20
ROUNDS = 3  # the last round runs under tracemalloc (it slows Python down two- to threefold)
HTTPX_MAX_CONNECTIONS = 100  # httpx.Limits default, used by AsyncRAGFlow's own client
HTTPX_MAX_KEEPALIVE = 20
QUESTIONS = ["How hot is the Sun?", "How is green tea brewed?", "Which rivers are longest?"]


@pytest.fixture(scope="module")
def process_server() -> Iterator[ServerProcess]:
    with ServerProcess(KEY) as srv:
        yield srv


async def _round(
    client: AsyncRAGFlow, dataset_id: str, sink: Any, number: int, expected: dict[str, list[str]]
) -> tuple[int, int]:
    async def retrieve(i: int) -> None:
        question = QUESTIONS[i % len(QUESTIONS)]
        chunks = await client.retrieve(question, dataset_ids=[dataset_id])
        assert sorted(c.id for c in chunks) == expected[question]

    async def ingest(i: int) -> None:
        docs = await aingest_documents(
            sink,
            [IngestItem(f"round{number}-{i}.txt", f"Load file {i} of round {number}.".encode())],
            timeout=60,
            poll_interval=0.05,
        )
        assert len(docs) == 1 and docs[0].run == "DONE"

    results = await asyncio.gather(
        *(retrieve(i) for i in range(RETRIEVALS)),
        *(ingest(i) for i in range(INGESTIONS)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} failures, first: {errors[0]!r}"
    return RETRIEVALS, INGESTIONS


async def test_concurrent_retrievals_and_ingestions(
    process_server: ServerProcess, ledger: Callable[..., None]
) -> None:
    with RAGFlow(api_key=KEY, base_url=process_server.base_url, server_version="0.27") as admin:
        dataset = seed_dataset(admin, unique("load"))
        expected = {
            q: sorted(c.id for c in admin.retrieve(q, dataset_ids=[dataset.id])) for q in QUESTIONS
        }
        assert all(expected.values())
    async with AsyncRAGFlow(
        api_key=KEY, base_url=process_server.base_url, server_version="0.27", timeout=60
    ) as client:
        sink = await client.create_dataset(name=unique("load-sink"))
        peaks: list[int] = []
        idle: list[int] = []
        retained = peak_memory = 0
        durations: list[float] = []
        try:
            for number in range(ROUNDS):
                if number == ROUNDS - 1:
                    gc.collect()
                    tracemalloc.start()
                held = open_sockets_to(process_server.port)
                started = time.monotonic()
                with SocketSampler(process_server.port) as sampler:
                    await _round(client, dataset.id, sink, number, expected)
                durations.append(time.monotonic() - started)
                peaks.append(held + sampler.peak)
                idle.append(open_sockets_to(process_server.port))
                if number == ROUNDS - 1:
                    gc.collect()
                    retained, peak_memory = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        stored = [d async for d in sink.iter_documents()]
    assert len(stored) == ROUNDS * INGESTIONS, "every ingested file is on the server"
    assert all(d.run == "DONE" for d in stored)
    assert max(peaks) <= HTTPX_MAX_CONNECTIONS, peaks
    assert max(idle) <= HTTPX_MAX_KEEPALIVE, idle
    # what a whole round of 220 calls left allocated once it was over (a leak of one response
    # per call would be megabytes)
    assert retained < 1_000_000, f"a round left {retained / 1e6:.2f} MB allocated"
    ledger(
        area="load",
        fault=f"{ROUNDS} rounds of {RETRIEVALS} concurrent async retrievals + {INGESTIONS} "
        "concurrent aingest_documents",
        injected=0,
        requests_sent=None,
        caller_saw=f"{ROUNDS * (RETRIEVALS + INGESTIONS)} calls, 0 errors; rounds took "
        + ", ".join(f"{d:.1f}" for d in durations)
        + " s",
        data_check=f"all {ROUNDS * INGESTIONS} files DONE on the server; open sockets peak "
        f"{peaks} (pool limit {HTTPX_MAX_CONNECTIONS}), idle after each round {idle} "
        f"(keep-alive limit {HTTPX_MAX_KEEPALIVE}); the traced last round left "
        f"{retained / 1024:.0f} KB allocated (peak {peak_memory / 1024:.0f} KB during it)",
        seconds=sum(durations),
    )


def test_sync_client_shared_by_threads(
    process_server: ServerProcess, ledger: Callable[..., None]
) -> None:
    """One RAGFlow used by 50 threads at once (500 retrievals): no errors, sockets bounded by
    the number of threads, and at most the pool size left open afterwards."""
    from concurrent.futures import ThreadPoolExecutor

    threads, calls, pool_size = 50, 500, 10  # requests' default pool_maxsize per host
    with RAGFlow(api_key=KEY, base_url=process_server.base_url) as client:  # version probed
        dataset = seed_dataset(client, unique("threads"))
        expected = sorted(c.id for c in client.retrieve(QUESTIONS[0], dataset_ids=[dataset.id]))
        errors: list[BaseException] = []

        def work(_: int) -> None:
            try:
                got = sorted(c.id for c in client.retrieve(QUESTIONS[0], dataset_ids=[dataset.id]))
                assert got == expected
            except BaseException as exc:
                errors.append(exc)

        held = open_sockets_to(process_server.port)
        started = time.monotonic()
        with SocketSampler(process_server.port) as sampler, ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, range(calls)))
        elapsed = time.monotonic() - started
        idle = open_sockets_to(process_server.port)
    assert not errors, f"{len(errors)} failures, first: {errors[0]!r}"
    assert held + sampler.peak <= threads + 1
    assert idle <= pool_size
    ledger(
        area="load",
        fault=f"{calls} sync retrievals from {threads} threads sharing one RAGFlow",
        injected=0,
        requests_sent=None,
        caller_saw=f"0 errors in {elapsed:.1f} s",
        data_check=f"open sockets peak {held + sampler.peak} (threads {threads}), "
        f"{idle} left open (pool size {pool_size})",
        seconds=elapsed,
    )


async def test_concurrent_retrievals_ride_out_scattered_failures(
    process_server: ServerProcess, ledger: Callable[..., None]
) -> None:
    """200 concurrent retrievals while 40 of the server's answers are HTTP 503 or dropped
    connections: every call still returns the right chunks (retries under concurrency)."""
    import requests

    with RAGFlow(api_key=KEY, base_url=process_server.base_url, server_version="0.27") as admin:
        dataset = seed_dataset(admin, unique("load-faults"))
        expected = sorted(c.id for c in admin.retrieve(QUESTIONS[0], dataset_ids=[dataset.id]))
    faults: list[dict[str, Any]] = [
        {"status": 503, "retry_after": 0.05, "times": 25},
        {"drop_connection": True, "times": 15},
    ]
    for fault in faults:
        requests.post(
            f"{process_server.base_url}/api/v1/_admin/faults",
            json={"path": "/retrieval", "method": "POST", **fault},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=10,
        ).raise_for_status()
    async with AsyncRAGFlow(
        api_key=KEY, base_url=process_server.base_url, server_version="0.27", timeout=60,
        max_retries=4,
    ) as client:  # fmt: skip

        async def retrieve() -> list[str]:
            chunks = await client.retrieve(QUESTIONS[0], dataset_ids=[dataset.id])
            return sorted(c.id for c in chunks)

        started = time.monotonic()
        results = await asyncio.gather(
            *(retrieve() for _ in range(RETRIEVALS)), return_exceptions=True
        )
        elapsed = time.monotonic() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    left = pending_fault_uses(process_server.base_url, KEY)
    fired = sum(int(f["times"]) for f in faults) - left
    ledger(
        area="load",
        fault=f"{RETRIEVALS} concurrent async retrievals; 25 answers HTTP 503 and 15 dropped "
        "connections among them (max_retries=4)",
        injected=fired,
        requests_sent=None,
        caller_saw=f"{len(errors)} errors in {elapsed:.1f} s",
        data_check=f"{sum(1 for r in results if r == expected)} of {RETRIEVALS} returned the "
        "right chunks",
        seconds=elapsed,
    )
    assert not errors, f"{len(errors)} failures, first: {errors[0]!r}"
    assert all(r == expected for r in results)
    assert fired == 40
