"""The local server's own figures from ``benchmarks/server_bench.py`` (owned by the server), each
set against a floor measured in the same run, just before and just after it:

* start-up against a bare uvicorn + Starlette app answering one ping route (same uvicorn config);
* retrieval latency over its 20,000-chunk corpus against the HTTP round trip of ``/system/ping``;
* parsing time per chunk against chunking and embedding the same amount of text in-process.
"""

from __future__ import annotations

import random
import socket
import statistics
import threading
import time

import requests

from benchmarks._context import Context
from benchmarks._harness import Row, median

ROW_KEYS = ("server.startup", "server.retrieval", "server.parsing")
PING_CALLS = 200


def _bare_startup() -> float:
    """Seconds from nothing to the first answered ping of a one-route uvicorn app."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    started = time.perf_counter()

    async def ping(request: object) -> PlainTextResponse:
        return PlainTextResponse("pong")

    app = Starlette(routes=[Route("/ping", ping)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    server = uvicorn.Server(
        uvicorn.Config(app, http="h11", lifespan="off", log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.005)
    port = sock.getsockname()[1]
    requests.get(f"http://127.0.0.1:{port}/ping", timeout=10).raise_for_status()
    elapsed = time.perf_counter() - started
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    return elapsed


def _ping_seconds() -> float:
    """Median seconds of ``GET /system/ping`` on a fresh local server (the HTTP floor)."""
    from ragflow_integrations.testing import LocalRAGFlowServer

    with LocalRAGFlowServer() as server, requests.Session() as http:
        url = server.base_url + "/api/v1/system/ping"
        http.headers["Authorization"] = f"Bearer {server.api_key}"
        times = []
        for _ in range(PING_CALLS):
            start = time.perf_counter()
            http.get(url, timeout=10).raise_for_status()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _in_process_seconds_per_chunk(documents: int, lines: int, words: int) -> float:
    """Chunk and embed comparable text in-process, as the parse worker does, minus the server."""
    from ragflow_integrations.testing.embedding import HashingEmbedder
    from ragflow_integrations.testing.parsing import chunk_document

    rng = random.Random(11)
    vocabulary = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 9))) for _ in range(3000)
    ]
    blobs = [
        "\n".join(" ".join(rng.choices(vocabulary, k=words)) for _ in range(lines)).encode()
        for _ in range(documents)
    ]
    embedder = HashingEmbedder()
    start = time.perf_counter()
    chunks = 0
    for index, blob in enumerate(blobs):
        texts = chunk_document(f"doc{index}.txt", blob, {"chunk_token_num": words})
        for batch in range(0, len(texts), 256):
            embedder.embed(texts[batch : batch + 256])
        chunks += len(texts)
    return (time.perf_counter() - start) / max(1, chunks)


def _floors(context: Context, documents: int, lines: int, words: int) -> dict[str, float]:
    return {
        "startup": median([_bare_startup() for _ in range(3)]),
        "ping": _ping_seconds(),
        "parse": _in_process_seconds_per_chunk(documents, lines, words),
    }


def run(context: Context) -> list[Row]:
    from benchmarks import server_bench

    config = server_bench.SIZES[context.size.server_bench]
    shape = (config["documents"], config["chunks_per_document"], server_bench.WORDS_PER_CHUNK)
    before = _floors(context, *shape)
    figures = server_bench.main(context.size.server_bench)
    after = _floors(context, *shape)
    floor = {name: (before[name] + after[name]) / 2 for name in before}

    def row(
        key: str, label: str, baseline_label: str, unit: str, ours: float, base: float, note: str
    ) -> Row:
        return Row(
            key,
            "Local server (benchmarks/server_bench.py)",
            label,
            baseline_label,
            unit,
            candidate=ours,
            baseline=base,
            ratio=ours / base,
            note=note,
        )

    parse_per_chunk = figures["parse_seconds"] / figures["parse_chunks"]
    return [
        row(
            "server.startup",
            "start-up: `LocalRAGFlowServer` to first pong",
            "bare uvicorn + Starlette one-route app to first pong",
            "ms",
            figures["startup_seconds"],
            floor["startup"],
            f"median of {config['startup_runs']} starts",
        ),
        row(
            "server.retrieval",
            f"retrieval latency over {figures['retrieval_chunks']:,} chunks (median)",
            "`GET /system/ping` round trip",
            "ms",
            figures["retrieval_median_ms"] / 1000,
            floor["ping"],
            f"p95 {figures['retrieval_p95_ms']:.1f} ms over {figures['retrieval_queries']} queries",
        ),
        row(
            "server.parsing",
            f"parsing {figures['parse_documents']} documents into "
            f"{figures['parse_chunks']:,} chunks, per chunk",
            "chunking and embedding the same amount of text in-process",
            "µs/chunk",
            parse_per_chunk,
            floor["parse"],
            f"{figures['parse_chunks_per_second']:,.0f} chunks/s through the server",
        ),
    ]
