"""RAGFlowVectorStore as an ingestion sink: caller ids, replace, delete, search, index()."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.indexing import InMemoryRecordManager, index

from ragflow_integrations import DocumentParseError, RAGFlow
from ragflow_integrations.langchain import RAGFlowLoader, RAGFlowVectorStore
from ragflow_integrations.langchain.vectorstores import ID_LOOKUP_BATCH

DOCS = [
    Document(
        page_content="Solar panels convert sunlight into electricity using photovoltaic cells.",
        metadata={"source": "energy.md", "page": 1},
    ),
    Document(
        page_content="Wind turbines turn the kinetic energy of wind into electrical power.",
        metadata={"source": "energy.md", "page": 2},
    ),
    Document(
        page_content="Tomatoes need six hours of direct sunlight and regular watering.",
        metadata={"source": "garden.md", "page": 1},
    ),
]
IDS = ["energy-1", "energy-2", "garden-1"]


@pytest.fixture
def connection(ragflow_server: Any) -> dict[str, Any]:
    return {"api_key": ragflow_server.api_key, "base_url": ragflow_server.base_url}


@pytest.fixture
def store(connection: dict[str, Any], poll_interval: float) -> RAGFlowVectorStore:
    dataset = RAGFlow(**connection).create_dataset("langchain_sink")
    return RAGFlowVectorStore(
        dataset.id, **connection, show_progress=False, poll_interval=poll_interval
    )


def _stored(store: RAGFlowVectorStore, connection: dict[str, Any]) -> list[Document]:
    """The RAGFlow documents in the store's dataset, read back by the loader."""
    return RAGFlowLoader(store.dataset_id, mode="documents", **connection).load()


def _dataset_names(store: RAGFlowVectorStore, connection: dict[str, Any]) -> list[str]:
    return sorted(d.metadata["ragflow_document_name"] for d in _stored(store, connection))


@pytest.mark.vcr
def test_add_get_delete_by_caller_ids(
    store: RAGFlowVectorStore, connection: dict[str, Any]
) -> None:
    assert store.embeddings is None
    assert store.add_documents(DOCS, ids=IDS) == IDS

    got = store.get_by_ids(["garden-1", "missing", "energy-1"])
    assert [d.id for d in got] == ["garden-1", "energy-1"]
    assert got[0].page_content == DOCS[2].page_content
    assert got[0].metadata == DOCS[2].metadata
    assert got[1].metadata == {"source": "energy.md", "page": 1}

    assert store.delete(["energy-2", "missing"]) is True
    assert [d.id for d in store.get_by_ids(IDS)] == ["energy-1", "garden-1"]
    assert _dataset_names(store, connection) == ["energy-1.txt", "garden-1.txt"]


@pytest.mark.vcr
def test_adding_an_existing_id_replaces_the_document(
    store: RAGFlowVectorStore, connection: dict[str, Any]
) -> None:
    store.add_documents(DOCS[:1], ids=["same"])
    store.add_documents([Document(page_content="Replaced text about hydropower.")], ids=["same"])
    got = store.get_by_ids(["same"])
    assert [(d.id, d.page_content, d.metadata) for d in got] == [
        ("same", "Replaced text about hydropower.", {})
    ]
    assert _dataset_names(store, connection) == ["same.txt"]


@pytest.mark.vcr
def test_similarity_search_returns_caller_ids_and_scores(store: RAGFlowVectorStore) -> None:
    store.add_documents(DOCS, ids=IDS)
    pairs = store.similarity_search_with_score(
        "How do wind turbines make power?", k=2, similarity_threshold=0.0
    )
    assert len(pairs) == 2
    best, score = pairs[0]
    assert best.id == "energy-2"
    assert "Wind turbines" in best.page_content
    assert best.metadata["source"] == "energy.md"
    assert best.metadata["ragflow_chunk_id"]
    assert "ragflow_langchain_id" not in best.metadata and "ragflow_written_at" not in best.metadata
    assert 0.0 < score <= 1.0
    assert score >= pairs[1][1]
    docs = store.similarity_search("wind turbines", k=1)
    assert [d.id for d in docs] == ["energy-2"]


def _refuse_text(store: RAGFlowVectorStore, connection: dict[str, Any]) -> None:
    """New documents of the store's dataset fail to parse: RAGFlow's ``presentation`` method
    takes only .ppt/.pptx/.pdf files (the store uploads .txt)."""
    dataset = RAGFlow(**connection).get_dataset(id=store.dataset_id)
    dataset.update({"chunk_method": "presentation"})


@pytest.mark.vcr
def test_parse_failure_names_the_document(
    store: RAGFlowVectorStore, connection: dict[str, Any]
) -> None:
    _refuse_text(store, connection)
    with pytest.raises(DocumentParseError) as caught:
        store.add_documents([Document(page_content="Slides, please.")], ids=["broken"])
    assert "broken.txt" in str(caught.value) and "not supported" in str(caught.value)


@pytest.mark.vcr
def test_failed_replacement_keeps_the_old_version(
    store: RAGFlowVectorStore, connection: dict[str, Any]
) -> None:
    store.add_documents([Document(page_content="Kites need steady wind.")], ids=["kite"])
    _refuse_text(store, connection)
    with pytest.raises(DocumentParseError) as caught:
        store.add_documents([Document(page_content="Kites need gusts.")], ids=["kite"])
    assert "kite(1).txt" in str(caught.value)
    got = store.get_by_ids(["kite"])
    assert [(d.id, d.page_content) for d in got] == [("kite", "Kites need steady wind.")]
    assert store.delete(["kite"]) is True
    assert store.get_by_ids(["kite"]) == []
    dataset = RAGFlow(**connection).get_dataset(id=store.dataset_id)
    assert list(dataset.iter_documents()) == []


@pytest.mark.vcr
async def test_from_texts_creates_a_dataset_then_reuses_it(
    ragflow_server: Any, poll_interval: float
) -> None:
    client = RAGFlow(api_key=ragflow_server.api_key, base_url=ragflow_server.base_url)
    options: dict[str, Any] = {
        "dataset_name": "langchain_from_texts",
        "client": client,
        "show_progress": False,
        "poll_interval": poll_interval,
    }
    store = RAGFlowVectorStore.from_texts(
        ["Bees pollinate flowers.", "Owls hunt at night."],
        metadatas=[{"animal": "bee"}, {"animal": "owl"}],
        ids=["bee", "owl"],
        **options,
    )
    assert client.get_dataset(id=store.dataset_id).name == "langchain_from_texts"
    got = store.get_by_ids(["owl"])
    assert [(d.page_content, d.metadata) for d in got] == [
        ("Owls hunt at night.", {"animal": "owl"})
    ]

    # a re-run (sync, then async) fills the same dataset: no langchain_from_texts(1)
    again = RAGFlowVectorStore.from_texts(["Owls nest in barns."], ids=["owl"], **options)
    documents = [Document(page_content="Wasps build paper nests.", id="wasp")]
    async_again = await RAGFlowVectorStore.afrom_documents(documents, **options)
    assert again.dataset_id == async_again.dataset_id == store.dataset_id
    names = [d.name for d in client.list_datasets() if d.name.startswith("langchain_from_texts")]
    assert names == ["langchain_from_texts"]
    got = await async_again.aget_by_ids(["bee", "owl", "wasp"])
    assert [d.page_content for d in got] == [
        "Bees pollinate flowers.",
        "Owls nest in barns.",
        "Wasps build paper nests.",
    ]


@pytest.mark.vcr
async def test_async_twins_match_sync(store: RAGFlowVectorStore) -> None:
    assert await store.aadd_documents(DOCS, ids=IDS) == IDS
    got = await store.aget_by_ids(["garden-1", "energy-1"])
    assert [(d.id, d.page_content, d.metadata) for d in got] == [
        ("garden-1", DOCS[2].page_content, DOCS[2].metadata),
        ("energy-1", DOCS[0].page_content, DOCS[0].metadata),
    ]
    sync_hits = store.similarity_search_with_score("sunlight", k=3, similarity_threshold=0.0)
    async_hits = await store.asimilarity_search_with_score(
        "sunlight", k=3, similarity_threshold=0.0
    )
    assert [(d.id, d.page_content, s) for d, s in async_hits] == [
        (d.id, d.page_content, s) for d, s in sync_hits
    ]
    assert await store.adelete(["garden-1"]) is True
    assert [d.id for d in await store.aget_by_ids(IDS)] == ["energy-1", "energy-2"]


@pytest.mark.vcr
def test_index_skips_unchanged_and_cleans_up(
    store: RAGFlowVectorStore, connection: dict[str, Any]
) -> None:
    manager = InMemoryRecordManager(namespace="ragflow/langchain_sink")
    manager.create_schema()

    def run(docs: list[Document], cleanup: Any, *, force_update: bool = False) -> dict[str, Any]:
        result = index(
            docs,
            manager,
            store,
            cleanup=cleanup,
            source_id_key="source",
            key_encoder="sha256",
            force_update=force_update,
        )
        return {**result}

    assert run(DOCS, "incremental") == {
        "num_added": 3,
        "num_updated": 0,
        "num_skipped": 0,
        "num_deleted": 0,
    }
    assert run(DOCS, "incremental") == {
        "num_added": 0,
        "num_updated": 0,
        "num_skipped": 3,
        "num_deleted": 0,
    }
    names = _dataset_names(store, connection)
    assert run(DOCS, "incremental", force_update=True) == {
        "num_added": 0,
        "num_updated": 3,
        "num_skipped": 0,
        "num_deleted": 0,
    }
    assert _dataset_names(store, connection) == names  # re-uploaded in place, same names
    changed = [
        DOCS[0],
        Document(page_content="Wind farms are often offshore.", metadata=DOCS[1].metadata),
        DOCS[2],
    ]
    assert run(changed, "incremental") == {
        "num_added": 1,
        "num_updated": 0,
        "num_skipped": 2,
        "num_deleted": 1,
    }
    assert run(changed[:1], "full") == {
        "num_added": 0,
        "num_updated": 0,
        "num_skipped": 1,
        "num_deleted": 2,
    }
    texts = [d.page_content for d in _stored(store, connection)]
    assert texts == [DOCS[0].page_content]


@pytest.mark.vcr
def test_many_ids_are_looked_up_in_batches(
    store: RAGFlowVectorStore, connection: dict[str, Any]
) -> None:
    count = ID_LOOKUP_BATCH + 5
    ids = [f"note-{n:03d}" for n in range(count)]
    docs = [Document(page_content=f"Note number {n} about topic {n % 7}.") for n in range(count)]
    assert store.add_documents(docs, ids=ids) == ids
    got = store.get_by_ids(list(reversed(ids)))
    assert [d.id for d in got] == list(reversed(ids))
    assert got[-1].page_content == "Note number 0 about topic 0."
    assert store.delete(ids[1:]) is True
    assert _dataset_names(store, connection) == ["note-000.txt"]
