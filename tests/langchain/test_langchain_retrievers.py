"""RAGFlowRetriever: the langchain-tests retriever suite plus RAGFlow-specific behaviour."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_corpus import QUERY, CorpusMixin, build_corpus
from langchain_tests.integration_tests import RetrieversIntegrationTests

from ragflow_integrations import APIError, AuthenticationError
from ragflow_integrations.langchain import RAGFlowRetriever


@pytest.mark.vcr
class TestRAGFlowRetrieverStandard(CorpusMixin, RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[RAGFlowRetriever]:
        return RAGFlowRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {
            "dataset_ids": [self.corpus.dataset_id],
            "similarity_threshold": 0.0,
            **self.corpus.connection,
        }

    @property
    def retriever_query_example(self) -> str:
        return QUERY


@pytest.mark.vcr
async def test_documents_carry_chunk_ids_scores_and_metadata(
    ragflow_server: Any, poll_interval: float
) -> None:
    corpus = build_corpus(ragflow_server, poll_interval)
    retriever = RAGFlowRetriever(
        dataset_ids=[corpus.dataset_id], k=3, similarity_threshold=0.0, **corpus.connection
    )
    docs = retriever.invoke(QUERY)
    assert len(docs) == 3
    best = docs[0]
    assert isinstance(best, Document)
    assert best.metadata["ragflow_document_name"] == "passwords.txt"
    assert best.metadata["ragflow_document_id"] == corpus.document_ids["passwords.txt"]
    assert best.metadata["ragflow_dataset_id"] == corpus.dataset_id
    assert best.metadata["topic"] == "accounts"
    assert best.id and best.id != best.metadata["ragflow_document_id"]
    scores = [d.metadata["ragflow_similarity"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(d.metadata["ragflow_vector_similarity"], float) for d in docs)
    assert all(isinstance(d.metadata["ragflow_term_similarity"], float) for d in docs)
    assert "ragflow_highlight" not in best.metadata

    async_docs = await retriever.ainvoke(QUERY)
    assert [(d.id, d.page_content, d.metadata) for d in async_docs] == [
        (d.id, d.page_content, d.metadata) for d in docs
    ]


@pytest.mark.vcr
def test_per_call_overrides(ragflow_server: Any, poll_interval: float) -> None:
    corpus = build_corpus(ragflow_server, poll_interval)
    retriever = RAGFlowRetriever(
        dataset_ids=[corpus.dataset_id], similarity_threshold=0.0, **corpus.connection
    )
    assert len(retriever.invoke(QUERY, k=1)) == 1
    billing = retriever.invoke(
        "refund or warranty",
        metadata_condition={
            "logic": "and",
            "conditions": [{"name": "topic", "comparison_operator": "=", "value": "billing"}],
        },
    )
    assert billing
    assert {d.metadata["ragflow_document_name"] for d in billing} <= {"refunds.txt", "warranty.txt"}
    only = retriever.invoke(QUERY, document_ids=[corpus.document_ids["shipping.txt"]])
    assert {d.metadata["ragflow_document_name"] for d in only} == {"shipping.txt"}
    highlighted = retriever.invoke("password", highlight=True, k=1)
    assert highlighted[0].metadata.get("ragflow_highlight")
    many = retriever.invoke(QUERY, k=150)
    assert len(many) == len({d.id for d in many}) == 5
    with pytest.raises(TypeError, match="unknown search parameter"):
        retriever.invoke(QUERY, page_size=3)


def test_validation_and_secret_handling() -> None:
    retriever = RAGFlowRetriever(api_key="very-secret-key", base_url="http://x:9380")
    assert "very-secret-key" not in repr(retriever)
    assert "very-secret-key" not in str(retriever.model_dump())
    with pytest.raises(ValueError, match="dataset_ids is empty"):
        retriever.invoke("anything")


@pytest.mark.vcr
async def test_server_errors_raise_typed_exceptions(
    ragflow_server: Any, poll_interval: float
) -> None:
    """A failure is an exception, never an empty result."""
    corpus = build_corpus(ragflow_server, poll_interval, names=("refunds.txt",))
    wrong_key = RAGFlowRetriever(
        dataset_ids=[corpus.dataset_id], api_key="wrong-key", base_url=corpus.base_url
    )
    with pytest.raises(AuthenticationError):
        wrong_key.invoke(QUERY)
    with pytest.raises(AuthenticationError):
        await wrong_key.ainvoke(QUERY)
    unknown = RAGFlowRetriever(dataset_ids=["0" * 32], **corpus.connection)
    with pytest.raises(APIError, match=r"0{32}"):
        unknown.invoke(QUERY)
