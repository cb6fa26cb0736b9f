"""RAGFlowLoader: chunks and documents modes, filters, and sync/async parity."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_corpus import TEXTS, build_corpus

from ragflow_integrations import RAGFlow
from ragflow_integrations.langchain import RAGFlowLoader


@pytest.mark.vcr
async def test_documents_mode_reads_every_document_back(
    ragflow_server: Any, poll_interval: float
) -> None:
    corpus = build_corpus(ragflow_server, poll_interval)
    loader = RAGFlowLoader(corpus.dataset_id, mode="documents", **corpus.connection)
    docs = list(loader.lazy_load())
    by_name = {d.metadata["ragflow_document_name"]: d for d in docs}
    assert sorted(by_name) == sorted(TEXTS)
    for name, (text, meta) in TEXTS.items():
        doc = by_name[name]
        assert doc.id == corpus.document_ids[name]
        assert " ".join(doc.page_content.split()) == " ".join(text.split())
        assert doc.metadata["topic"] == meta["topic"]
        assert doc.metadata["ragflow_dataset_id"] == corpus.dataset_id
        assert doc.metadata["ragflow_chunk_count"] >= 1
    async_docs = [d async for d in loader.alazy_load()]
    assert [(d.id, d.page_content, d.metadata) for d in async_docs] == [
        (d.id, d.page_content, d.metadata) for d in docs
    ]


@pytest.mark.vcr
async def test_chunks_mode_and_filters(ragflow_server: Any, poll_interval: float) -> None:
    corpus = build_corpus(ragflow_server, poll_interval)
    loader = RAGFlowLoader(corpus.dataset_id, **corpus.connection)
    chunks = loader.load()
    assert {c.metadata["ragflow_document_name"] for c in chunks} == set(TEXTS)
    assert len({c.id for c in chunks}) == len(chunks)
    for chunk in chunks:
        assert chunk.page_content
        assert (
            chunk.metadata["ragflow_document_id"]
            == corpus.document_ids[chunk.metadata["ragflow_document_name"]]
        )
        assert "ragflow_similarity" not in chunk.metadata
    async_chunks = [c async for c in loader.alazy_load()]
    assert [(c.id, c.page_content) for c in async_chunks] == [
        (c.id, c.page_content) for c in chunks
    ]

    only = RAGFlowLoader(
        corpus.dataset_id,
        document_ids=[corpus.document_ids["refunds.txt"]],
        **corpus.connection,
    ).load()
    assert {c.metadata["ragflow_document_name"] for c in only} == {"refunds.txt"}

    accounts = RAGFlowLoader(
        corpus.dataset_id,
        mode="documents",
        metadata_condition={
            "logic": "and",
            "conditions": [{"name": "topic", "comparison_operator": "=", "value": "accounts"}],
        },
        **corpus.connection,
    ).load()
    assert sorted(d.metadata["ragflow_document_name"] for d in accounts) == [
        "passwords.txt",
        "security.txt",
    ]


@pytest.mark.vcr
async def test_unparsed_documents_are_skipped_unless_asked(
    ragflow_server: Any, poll_interval: float
) -> None:
    corpus = build_corpus(ragflow_server, poll_interval)
    dataset = RAGFlow(**corpus.connection).get_dataset(id=corpus.dataset_id)
    (pending,) = dataset.upload_documents([{"display_name": "pending.txt", "blob": b"Not yet."}])
    loader = RAGFlowLoader(corpus.dataset_id, mode="documents", **corpus.connection)
    names = sorted(d.metadata["ragflow_document_name"] for d in loader.load())
    assert names == sorted(TEXTS)
    assert sorted([d.metadata["ragflow_document_name"] async for d in loader.alazy_load()]) == names
    only_pending = RAGFlowLoader(corpus.dataset_id, document_ids=[pending.id], **corpus.connection)
    assert only_pending.load() == []
    everything = RAGFlowLoader(
        corpus.dataset_id, mode="documents", parsed_only=False, **corpus.connection
    ).load()
    by_name = {d.metadata["ragflow_document_name"]: d for d in everything}
    assert sorted(by_name) == sorted([*TEXTS, "pending.txt"])
    assert by_name["pending.txt"].page_content == ""
    assert by_name["pending.txt"].metadata["ragflow_chunk_count"] == 0


def test_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode must be"):
        RAGFlowLoader("dataset", mode="pages", api_key="k", base_url="http://x")  # type: ignore[arg-type]
