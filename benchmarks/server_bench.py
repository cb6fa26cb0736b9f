"""Figures of the local stand-in server: start-up, retrieval latency, parsing throughput.

Run ``python -m benchmarks.server_bench [tiny|full]``; ``main(sizes)`` returns the figures as a
dict (``sizes`` is ``"tiny"``, ``"full"`` or a dict overriding :data:`SIZES` entries).
Everything goes over real loopback HTTP with ``requests``, like a client would.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Mapping
from typing import Any

import requests

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"startup_runs": 2, "documents": 4, "chunks_per_document": 50, "queries": 10},
    "full": {"startup_runs": 5, "documents": 20, "chunks_per_document": 1000, "queries": 60},
}
WORDS_PER_CHUNK = 12


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(size)]


def _document(rng: random.Random, vocabulary: list[str], lines: int) -> bytes:
    # each line is one chunk: chunk_token_num == WORDS_PER_CHUNK and "\n" delimits
    text = "\n".join(" ".join(rng.choices(vocabulary, k=WORDS_PER_CHUNK)) for _ in range(lines))
    return text.encode()


def _startup(runs: int) -> float:
    from ragflow_integrations.testing import LocalRAGFlowServer

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with LocalRAGFlowServer() as server:
            requests.get(server.base_url + "/api/v1/system/ping", timeout=10).raise_for_status()
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(sizes: str | Mapping[str, int] = "full") -> dict[str, Any]:
    """Run the three measurements and print a small table; returns the figures."""
    config = dict(SIZES["full"])
    if isinstance(sizes, str):
        config = dict(SIZES[sizes])
    else:
        config.update(sizes)
    from ragflow_integrations.testing import LocalRAGFlowServer

    figures: dict[str, Any] = {"startup_seconds": _startup(config["startup_runs"])}
    rng = random.Random(7)
    vocabulary = _vocabulary(rng)
    with LocalRAGFlowServer() as server:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {server.api_key}"
        root = server.base_url + "/api/v1"
        dataset = http.post(
            root + "/datasets",
            timeout=30,
            json={"name": "bench", "parser_config": {"chunk_token_num": WORDS_PER_CHUNK}},
        ).json()
        dataset_id = dataset["data"]["id"]
        files = [
            ("file", (f"doc{i}.txt", _document(rng, vocabulary, config["chunks_per_document"])))
            for i in range(config["documents"])
        ]
        uploaded = http.post(
            root + f"/datasets/{dataset_id}/documents", files=files, timeout=120
        ).json()["data"]
        ids = [d["id"] for d in uploaded]
        started = time.perf_counter()
        http.post(root + f"/datasets/{dataset_id}/chunks", json={"document_ids": ids}, timeout=30)
        while True:
            docs = http.get(
                root + f"/datasets/{dataset_id}/documents", params={"page_size": 100}, timeout=30
            ).json()["data"]["docs"]
            if all(d["run"] in ("DONE", "FAIL", "CANCEL") for d in docs):
                break
            time.sleep(0.01)
        parse_seconds = time.perf_counter() - started
        chunks = sum(int(d["chunk_count"]) for d in docs)
        figures.update(
            {
                "parse_documents": len(docs),
                "parse_chunks": chunks,
                "parse_seconds": parse_seconds,
                "parse_chunks_per_second": chunks / parse_seconds,
            }
        )
        latencies = []
        for _ in range(config["queries"]):
            question = " ".join(rng.choices(vocabulary, k=6))
            started = time.perf_counter()
            body = http.post(
                root + "/retrieval",
                timeout=30,
                json={"question": question, "dataset_ids": [dataset_id], "page_size": 30},
            ).json()
            latencies.append((time.perf_counter() - started) * 1000)
            assert body["code"] == 0, body
        latencies.sort()
        figures.update(
            {
                "retrieval_chunks": chunks,
                "retrieval_median_ms": statistics.median(latencies),
                "retrieval_p95_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
                "retrieval_queries": len(latencies),
            }
        )
    _print_table(figures)
    return figures


def _print_table(figures: Mapping[str, Any]) -> None:
    rows = [
        ("start-up (context manager to first pong)", f"{figures['startup_seconds'] * 1000:.0f} ms"),
        (
            f"parsing {figures['parse_documents']} documents",
            f"{figures['parse_chunks']} chunks in "
            f"{figures['parse_seconds']:.2f} s = {figures['parse_chunks_per_second']:.0f} chunks/s",
        ),
        (
            f"retrieval over {figures['retrieval_chunks']} chunks (median)",
            f"{figures['retrieval_median_ms']:.1f} ms",
        ),
        ("retrieval p95", f"{figures['retrieval_p95_ms']:.1f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    print("local server benchmark")
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "full")
