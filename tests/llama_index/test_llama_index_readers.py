"""RAGFlowReader against recorded traffic of the local RAGFlow server."""

from __future__ import annotations

import pytest
from llama_index.core.schema import MetadataMode
from llama_index_corpus import FACTS, Corpus

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.llama_index import RAGFlowReader


@pytest.mark.vcr
async def test_documents_mode_sync_and_async(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus
) -> None:
    reader = RAGFlowReader(corpus.dataset_id, client=client, async_client=aclient)

    documents = reader.load_data()
    lazy = list(reader.lazy_load_data())
    streamed = [d async for d in reader.alazy_load_data()]
    collected = await reader.aload_data()

    by_name = {d.metadata["ragflow_document_name"]: d for d in documents}
    assert set(by_name) == set(FACTS)
    for name, text in FACTS.items():
        document = by_name[name]
        assert document.id_ == corpus.document_ids[name]
        assert document.text.replace("\n", " ").strip() == text
        assert document.metadata["topic"] == name[:-4]
        assert document.metadata["ragflow_dataset_id"] == corpus.dataset_id
        assert document.metadata["ragflow_chunk_count"] >= 1
        assert "dataset_id" not in document.get_content(metadata_mode=MetadataMode.LLM)
    for other in (lazy, streamed, collected):
        assert [(d.id_, d.text, d.metadata) for d in other] == [
            (d.id_, d.text, d.metadata) for d in documents
        ]


@pytest.mark.vcr
async def test_chunks_mode_and_filters(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus
) -> None:
    orchid_id = corpus.document_ids["orchid.txt"]
    unparsed = corpus.dataset.upload_documents(
        [{"display_name": "draft.txt", "blob": b"Not parsed yet."}]
    )[0]

    chunks = RAGFlowReader(
        corpus.dataset_id, mode="chunks", document_ids=[orchid_id], client=client
    ).load_data()
    achunks = await RAGFlowReader(
        corpus.dataset_id, mode="chunks", document_ids=[orchid_id], async_client=aclient
    ).aload_data()
    named = RAGFlowReader(corpus.dataset_id, keywords="ledger", client=client).load_data()
    parsed_only = RAGFlowReader(corpus.dataset_id, client=client).load_data()
    everything = RAGFlowReader(corpus.dataset_id, only_parsed=False, client=client).load_data()

    assert chunks and all(c.metadata["ragflow_document_id"] == orchid_id for c in chunks)
    assert all(c.id_ != orchid_id for c in chunks)  # chunk ids, not the document id
    assert "violet nightjar moth" in " ".join(c.text for c in chunks)
    assert chunks[0].metadata["ragflow_document_name"] == "orchid.txt"
    assert chunks[0].metadata["topic"] == "orchid"
    assert [(c.id_, c.text, c.metadata) for c in achunks] == [
        (c.id_, c.text, c.metadata) for c in chunks
    ]
    assert [d.metadata["ragflow_document_name"] for d in named] == ["ledger.txt"]
    assert unparsed.id not in {d.id_ for d in parsed_only}
    assert unparsed.id in {d.id_ for d in everything}
    assert len(everything) == len(parsed_only) + 1


def test_reader_serialises_without_secrets() -> None:
    reader = RAGFlowReader(
        "ds-1", mode="chunks", api_key="secret-key-123", base_url="http://127.0.0.1:1"
    )
    dumped = reader.to_json()

    assert "secret-key-123" not in dumped and "secret-key-123" not in repr(reader)
    assert '"dataset_id": "ds-1"' in dumped and '"mode": "chunks"' in dumped
    assert reader.is_remote is True
    assert RAGFlowReader.class_name() == "RAGFlowReader"
