"""Ingestion: small documents through ``RAGFlowVectorStore.add_documents`` against the official
SDK's way — per document one upload request, one parse request and polling until it is done —
sent with a pooled ``requests.Session``. Both poll at the same interval; requests are counted.

A second row counts the requests of ``ingest_documents`` (the ingestion behind the vector store,
the LlamaIndex index and the command line) for documents whose metadata they share, against the
same documents each with metadata of its own: RAGFlow's batch metadata update sets one value set
on many documents, so shared metadata costs one request per batch, and metadata of one's own one
request per document."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from benchmarks._context import Context, RequestRecorder
from benchmarks._fixtures import Fixtures, api_root, sentences
from benchmarks._harness import Row, compare

POLL_INTERVAL = 0.05


def _texts(count: int, round_index: int) -> list[str]:
    return [" ".join(sentences(3, 50_000 + round_index * count + index)) for index in range(count)]


def _sdk_way(
    base_url: str, api_key: str, recorder: RequestRecorder
) -> Callable[[str, list[str]], None]:
    """What ``DataSet.upload_documents([doc])`` + ``DataSet.parse_documents([id])`` send per doc."""
    api = api_root(base_url)
    session = recorder.attach(requests.Session())
    session.headers["Authorization"] = f"Bearer {api_key}"

    def checked(response: requests.Response) -> object:
        body = response.json()
        if body.get("code") != 0:
            raise RuntimeError(f"SDK-way ingestion failed: {body}")
        return body.get("data")

    def ingest(dataset_id: str, texts: list[str]) -> None:
        for index, text in enumerate(texts):
            uploaded = checked(
                session.post(
                    f"{api}/datasets/{dataset_id}/documents",
                    files=[("file", (f"sdk{index:04d}.txt", text.encode("utf-8")))],
                )
            )
            document_id = uploaded[0]["id"]  # type: ignore[index]
            checked(
                session.post(
                    f"{api}/datasets/{dataset_id}/chunks", json={"document_ids": [document_id]}
                )
            )
            while True:
                docs = checked(
                    session.get(
                        f"{api}/datasets/{dataset_id}/documents", params={"id": document_id}
                    )
                )
                run = docs["docs"][0]["run"]  # type: ignore[index]
                if run in {"DONE", "FAIL", "CANCEL"}:
                    break
                time.sleep(POLL_INTERVAL)

    return ingest


def _ingest_requests(
    base_url: str, api_key: str, texts: list[str], shared: bool
) -> tuple[int, str, float]:
    """Requests (count, breakdown) and seconds of one ``ingest_documents`` into a new dataset."""
    from ragflow_integrations import RAGFlow
    from ragflow_integrations.ingest import IngestItem, ingest_documents

    fixtures = Fixtures(base_url, api_key)
    recorder = RequestRecorder()
    client = RAGFlow(
        api_key=api_key, base_url=base_url, session=recorder.attach(requests.Session())
    )
    try:
        client.version()
        dataset = client.get_dataset(id=fixtures.create_dataset(f"ingest-meta-{shared}"))
        items = [
            IngestItem(
                f"doc{index:04d}.txt",
                text.encode("utf-8"),
                {"source": "handbook", "lang": "en"} if shared else {"source": f"doc{index}"},
            )
            for index, text in enumerate(texts)
        ]
        recorder.reset()
        start = time.perf_counter()
        ingest_documents(dataset, items, poll_interval=POLL_INTERVAL)
        seconds = time.perf_counter() - start
        return len(recorder.requests), recorder.breakdown(), seconds
    finally:
        client.close()
        fixtures.close()


def run_requests(context: Context) -> list[Row]:
    """Requests of ``ingest_documents`` with shared metadata (target ≤ 25 for 500 documents)."""
    corpus = context.corpus
    count = context.size.ingest_documents
    budget = 25 if count >= 500 else max(6, count // 20 + 6)
    shared = _ingest_requests(corpus.base_url, corpus.api_key, _texts(count, 7), shared=True)
    own = _ingest_requests(corpus.base_url, corpus.api_key, _texts(count, 8), shared=False)
    return [
        Row(
            "ingest.requests",
            "Ingestion",
            f"requests to ingest {count} documents that share their metadata (`ingest_documents`)",
            "the same with metadata of each document's own",
            "requests",
            candidate=float(shared[0]),
            baseline=float(own[0]),
            ratio=shared[0] / own[0],
            check=shared[0] <= budget,
            check_label=f"≤ {budget} requests",
            note=(
                f"shared: {shared[1]} ({shared[2]:.2f} s); own: {own[1]} ({own[2]:.2f} s); "
                "RAGFlow's batch metadata update sets one value set on many documents, so "
                "metadata of each document's own costs one request per document; parse polled "
                f"every {POLL_INTERVAL * 1000:.0f} ms"
            ),
        )
    ]


def run(context: Context) -> list[Row]:
    from langchain_core.documents import Document

    from ragflow_integrations import RAGFlow
    from ragflow_integrations.langchain import RAGFlowVectorStore

    corpus = context.corpus
    count = context.size.ingest_documents
    rounds = 1 if context.size.name == "tiny" else 3
    fixtures = Fixtures(corpus.base_url, corpus.api_key)
    ours_recorder, sdk_recorder = RequestRecorder(), RequestRecorder()
    client = RAGFlow(
        api_key=corpus.api_key,
        base_url=corpus.base_url,
        session=ours_recorder.attach(requests.Session()),
    )
    sdk_way = _sdk_way(corpus.base_url, corpus.api_key, sdk_recorder)
    ours_times: list[float] = []
    sdk_times: list[float] = []
    ours_requests = sdk_requests = ""
    try:
        client.version()
        for index in range(rounds):
            texts = _texts(count, index)

            def ours(texts: list[str] = texts, index: int = index) -> float:
                dataset_id = fixtures.create_dataset(f"ingest-ours-{index}")
                store = RAGFlowVectorStore(
                    dataset_id, client=client, poll_interval=POLL_INTERVAL, show_progress=False
                )
                ours_recorder.reset()
                start = time.perf_counter()
                store.add_documents([Document(page_content=text) for text in texts])
                return time.perf_counter() - start

            def sdk(texts: list[str] = texts, index: int = index) -> float:
                dataset_id = fixtures.create_dataset(f"ingest-sdk-way-{index}")
                sdk_recorder.reset()
                start = time.perf_counter()
                sdk_way(dataset_id, texts)
                return time.perf_counter() - start

            pair = [(ours_times, ours), (sdk_times, sdk)]
            for figures, ingest in pair if index % 2 == 0 else reversed(pair):
                figures.append(ingest())
            ours_requests = f"{len(ours_recorder.requests)} ({ours_recorder.breakdown()})"
            sdk_requests = f"{len(sdk_recorder.requests)} ({sdk_recorder.breakdown()})"
    finally:
        client.close()
        fixtures.close()
    row = Row(
        "ingest.vectorstore",
        "Ingestion",
        f"{count} documents through `RAGFlowVectorStore.add_documents`",
        "one by one, the official SDK's way (upload + parse + poll per document)",
        "s",
        note=f"requests: ours {ours_requests}; SDK way {sdk_requests}; "
        f"both poll every {POLL_INTERVAL * 1000:.0f} ms",
    )
    return [compare(row, ours_times, sdk_times)]
