"""RAGFlowVectorStore writes and reads under stress: user metadata named like the package's own
keys, concurrent upserts of one id, copies left by other processes, documents of earlier versions.
Live against the local server in both emulation modes (no cassette: the writes race)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.documents import Document

from ragflow_integrations import RAGFlow
from ragflow_integrations.ingest import IngestItem, ingest_documents
from ragflow_integrations.langchain import RAGFlowLoader, RAGFlowRetriever, RAGFlowVectorStore
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

# user keys named like the values the package returns or stores
USER_METADATA: dict[str, Any] = {
    "document_id": "my-own-document-id",
    "document_name": "My own name",
    "similarity": "high",
    "dataset_id": "my-own-dataset",
    "chunk_id": "my-own-chunk",
    "langchain_id": "not-the-caller-id",
    "source": "otters.md",
}
TEXT = "Sea otters hold hands while they sleep so that they do not drift apart."


@pytest.fixture(scope="module", params=["0.22", "0.27"])
def server(request: pytest.FixtureRequest) -> Iterator[LocalRAGFlowServer]:
    with LocalRAGFlowServer(emulate=request.param) as srv:
        yield srv


@pytest.fixture
def client(server: LocalRAGFlowServer) -> Iterator[RAGFlow]:
    with RAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0) as ragflow:
        yield ragflow


@pytest.fixture
def store(client: RAGFlow, request: pytest.FixtureRequest) -> RAGFlowVectorStore:
    dataset = client.create_dataset(name=f"lc-{request.node.name}"[:100])
    return RAGFlowVectorStore(
        dataset.id, client=client, show_progress=False, poll_interval=0.02, parse_timeout=30
    )


def _stored(client: RAGFlow, store: RAGFlowVectorStore) -> list[Any]:
    return list(client.get_dataset(id=store.dataset_id).iter_documents())


def _user_keys(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if not k.startswith("ragflow_")}


async def test_user_metadata_comes_back_as_stored(
    store: RAGFlowVectorStore, client: RAGFlow
) -> None:
    store.add_documents([Document(page_content=TEXT, metadata=USER_METADATA)], ids=["otters"])
    search = {"k": 3, "similarity_threshold": 0.0}

    got = store.get_by_ids(["otters"]) + await store.aget_by_ids(["otters"])
    assert [(d.id, d.metadata) for d in got] == [("otters", USER_METADATA)] * 2

    hits = store.similarity_search("otters sleep", **search)
    hits += await store.asimilarity_search("otters sleep", **search)
    assert [d.id for d in hits] == ["otters", "otters"]
    for hit in hits:
        assert _user_keys(hit.metadata) == USER_METADATA
        assert hit.metadata["ragflow_document_name"] == "otters.txt"
        assert hit.metadata["ragflow_dataset_id"] == store.dataset_id
        assert hit.metadata["ragflow_chunk_id"]
        assert isinstance(hit.metadata["ragflow_similarity"], float)

    retriever = RAGFlowRetriever(dataset_ids=[store.dataset_id], client=client, **search)
    found = retriever.invoke("otters sleep") + await retriever.ainvoke("otters sleep")
    assert len(found) == 2
    for doc in found:
        assert _user_keys(doc.metadata) == USER_METADATA
        assert doc.metadata["ragflow_langchain_id"] == "otters"
        assert doc.id == doc.metadata["ragflow_chunk_id"]

    for mode in ("chunks", "documents"):
        loader = RAGFlowLoader(store.dataset_id, mode=mode, client=client)  # type: ignore[arg-type]
        loaded = loader.load() + [d async for d in loader.alazy_load()]
        assert len(loaded) == 2
        for doc in loaded:
            assert _user_keys(doc.metadata) == USER_METADATA
            assert doc.metadata["ragflow_document_name"] == "otters.txt"


async def test_reserved_prefix_is_refused_before_any_upload(
    store: RAGFlowVectorStore, client: RAGFlow
) -> None:
    bad = [Document(page_content=TEXT, metadata={"ragflow_document_id": "x", "topic": "t"})]
    with pytest.raises(ValueError, match=r"\['ragflow_document_id'\].*reserved"):
        store.add_documents(bad, ids=["bad"])
    with pytest.raises(ValueError, match="reserved"):
        await store.aadd_documents(bad, ids=["bad"])
    with pytest.raises(ValueError, match="reserved"):
        RAGFlowVectorStore.from_texts(
            [TEXT], metadatas=[{"ragflow_x": 1}], dataset_id=store.dataset_id, client=client
        )
    assert _stored(client, store) == []


def _versions(count: int) -> list[Document]:
    return [Document(page_content=f"Version {n} of the note about otters.") for n in range(count)]


async def test_concurrent_writes_of_one_id_leave_one_copy(
    store: RAGFlowVectorStore, client: RAGFlow
) -> None:
    versions = _versions(8)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda d: store.add_documents([d], ids=["same"]), versions))
    assert results == [["same"]] * 8  # nobody got an error
    assert len(_stored(client, store)) == 1

    outcomes = await asyncio.gather(
        *(store.aadd_documents([d], ids=["same"]) for d in versions), return_exceptions=True
    )
    assert outcomes == [["same"]] * 8
    assert len(_stored(client, store)) == 1

    # sync writers in threads and async writers on a loop at the same time
    threads = [
        threading.Thread(target=store.add_documents, args=([d],), kwargs={"ids": ["same"]})
        for d in versions[:4]
    ]
    for thread in threads:
        thread.start()
    await asyncio.gather(*(store.aadd_documents([d], ids=["same"]) for d in versions[4:]))
    for thread in threads:
        thread.join()
    (stored,) = _stored(client, store)
    assert stored.name == "same.txt"
    hits = store.similarity_search("note about otters", k=8, similarity_threshold=0.0)
    assert [d.id for d in hits] == ["same"]
    (got,) = store.get_by_ids(["same"])
    assert got.page_content in {d.page_content for d in versions}


def _other_process_copy(store: RAGFlowVectorStore, client: RAGFlow, text: str, stamp: str) -> str:
    """A copy of id ``dup`` as another process's writer would leave it (no shared lock)."""
    dataset = client.get_dataset(id=store.dataset_id)
    meta = {"ragflow_langchain_id": "dup", "ragflow_written_at": stamp, "topic": "otters"}
    (document,) = ingest_documents(
        dataset, [IngestItem("dup.txt", text.encode(), meta)], poll_interval=0.02
    )
    return str(document.id)


async def test_copies_left_by_other_processes_are_read_once_then_healed(
    store: RAGFlowVectorStore, client: RAGFlow
) -> None:
    _other_process_copy(store, client, "Otters: middle copy of the note.", "20260101T000002.0Z")
    _other_process_copy(store, client, "Otters: newest copy of the note.", "20260101T000003.0Z")
    _other_process_copy(store, client, "Otters: oldest copy of the note.", "20260101T000001.0Z")
    assert len(_stored(client, store)) == 3

    for got in (store.get_by_ids(["dup"]), await store.aget_by_ids(["dup"])):
        assert [(d.id, d.page_content, d.metadata) for d in got] == [
            ("dup", "Otters: newest copy of the note.", {"topic": "otters"})
        ]
    search = {"k": 10, "similarity_threshold": 0.0}
    for hits in (
        store.similarity_search("copy of the note", **search),
        await store.asimilarity_search("copy of the note", **search),
    ):
        assert [(d.id, d.page_content) for d in hits] == [
            ("dup", "Otters: newest copy of the note.")
        ]
    retriever = RAGFlowRetriever(dataset_ids=[store.dataset_id], client=client, **search)
    found = retriever.invoke("copy of the note")
    assert [d.page_content for d in found] == ["Otters: newest copy of the note."]

    store.add_documents([Document(page_content="Otters: the healed note.")], ids=["dup"])
    (left,) = _stored(client, store)
    assert left.name == "dup.txt"
    assert [d.page_content for d in store.get_by_ids(["dup"])] == ["Otters: the healed note."]


def test_documents_of_earlier_versions_are_read_and_replaced(
    store: RAGFlowVectorStore, client: RAGFlow
) -> None:
    dataset = client.get_dataset(id=store.dataset_id)
    legacy = {"langchain_id": "old-1", "topic": "otters"}  # as versions before 'ragflow_' wrote
    ingest_documents(dataset, [IngestItem("old-1.txt", TEXT.encode(), legacy)], poll_interval=0.02)

    (got,) = store.get_by_ids(["old-1"])
    assert (got.id, got.metadata) == ("old-1", {"topic": "otters"})
    (hit,) = store.similarity_search("otters sleep", k=3, similarity_threshold=0.0)
    assert hit.id == "old-1" and _user_keys(hit.metadata) == {"topic": "otters"}

    store.add_documents([Document(page_content="Otters eat sea urchins.")], ids=["old-1"])
    (left,) = _stored(client, store)
    assert left.meta_fields["ragflow_langchain_id"] == "old-1"
    assert "langchain_id" not in left.meta_fields
    assert store.delete(["old-1"]) is True
    assert _stored(client, store) == []
