"""Child process for the loader-memory figure: lazily load one dataset, report the traced peak.

Run as ``python -m benchmarks._loader_worker '<json settings>'`` (base_url, api_key, dataset_id);
prints ``{"peak_bytes", "documents", "seconds", "held_at_end"}`` as JSON. Tracing starts after
the imports and the client's first request, so the peak is what the iteration itself holds.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc


def main(settings: dict[str, str]) -> dict[str, object]:
    from ragflow_integrations import RAGFlow
    from ragflow_integrations.langchain import RAGFlowLoader

    with RAGFlow(api_key=settings["api_key"], base_url=settings["base_url"]) as client:
        client.get_dataset(id=settings["dataset_id"])
        loader = RAGFlowLoader(settings["dataset_id"], mode="chunks", client=client)
        tracemalloc.start()
        start = time.perf_counter()
        documents = 0
        for _document in loader.lazy_load():
            documents += 1
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        held = tracemalloc.take_snapshot().statistics("lineno")[:8]
        tracemalloc.stop()
    return {
        "peak_bytes": peak,
        "documents": documents,
        "seconds": seconds,
        "held_at_end": [f"{stat.size / 1024:8.1f} KiB  {stat.traceback}" for stat in held],
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
