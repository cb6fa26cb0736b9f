"""RAGFlowRetriever against recorded traffic of the local RAGFlow server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode
from llama_index_corpus import Corpus, build_corpus

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.llama_index import RAGFlowIndex, RAGFlowRetriever
from ragflow_integrations.testing import LocalRAGFlowServer


@pytest.mark.vcr
def test_query_engine_answers_with_source_nodes(client: RAGFlow, corpus: Corpus) -> None:
    retriever = RAGFlowRetriever([corpus.dataset_id], client=client, similarity_top_k=2)
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())

    response = engine.query("What is the rotor speed of the Zephyr-9 turbine?")

    assert response.source_nodes, "the query engine got no nodes from RAGFlow"
    top = response.source_nodes[0]
    assert "4200 rpm" in top.node.get_content()
    assert top.node.node_id != corpus.document_ids["zephyr.txt"]  # a chunk id, not the doc id
    source = top.node.source_node
    assert source is not None
    assert source.node_id == corpus.document_ids["zephyr.txt"]
    assert top.node.metadata["ragflow_document_name"] == "zephyr.txt"
    assert top.node.metadata["ragflow_dataset_id"] == corpus.dataset_id
    assert top.node.metadata["topic"] == "zephyr"  # the document's own metadata
    assert top.score == pytest.approx(top.node.metadata["ragflow_similarity"])
    # Noisy provenance stays on the node but out of the prompt.
    prompt_text = top.node.get_content(metadata_mode=MetadataMode.LLM)
    assert "positions" not in prompt_text and "vector_similarity" not in prompt_text
    assert "document_name: zephyr.txt" in prompt_text
    # MockLLM echoes the prompt, which must contain the retrieved context.
    assert "4200 rpm" in str(response)


@pytest.mark.vcr
async def test_sync_and_async_return_the_same_nodes(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus
) -> None:
    retriever = RAGFlowRetriever(
        [corpus.dataset_id],
        client=client,
        async_client=aclient,
        similarity_top_k=3,
        similarity_threshold=0.0,
        vector_similarity_weight=0.5,
    )
    question = "Which moth pollinates the Quillmark orchid?"

    sync_nodes = retriever.retrieve(question)
    async_nodes = await retriever.aretrieve(question)

    assert sync_nodes, "no results"
    assert [n.node.node_id for n in sync_nodes] == [n.node.node_id for n in async_nodes]
    assert [n.score for n in sync_nodes] == [n.score for n in async_nodes]
    assert [n.node.metadata for n in sync_nodes] == [n.node.metadata for n in async_nodes]
    assert "violet nightjar moth" in sync_nodes[0].node.get_content()
    assert len(sync_nodes) <= 3


@pytest.mark.vcr
def test_document_filter_and_top_k(client: RAGFlow, corpus: Corpus) -> None:
    ledger_id = corpus.document_ids["ledger.txt"]
    retriever = RAGFlowRetriever(
        [corpus.dataset_id],
        document_ids=[ledger_id],
        client=client,
        similarity_top_k=1,
        similarity_threshold=0.0,
    )

    nodes = retriever.retrieve("turbine rotor speed")

    assert len(nodes) <= 1
    assert all(n.node.source_node and n.node.source_node.node_id == ledger_id for n in nodes)


def test_needs_dataset_ids() -> None:
    with pytest.raises(ValueError, match="dataset_ids"):
        RAGFlowRetriever([], api_key="k", base_url="http://127.0.0.1:1")
    with pytest.raises(TypeError, match="list of ids"):
        RAGFlowRetriever("abc", api_key="k", base_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="similarity_top_k"):
        RAGFlowRetriever(["d"], similarity_top_k=0, api_key="k", base_url="http://127.0.0.1:1")


@pytest.mark.vcr
def test_credentials_from_the_environment(
    corpus: Corpus, ragflow_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGFLOW_API_KEY", ragflow_server.api_key)
    monkeypatch.setenv("RAGFLOW_BASE_URL", ragflow_server.base_url)

    nodes = RAGFlowRetriever([corpus.dataset_id], similarity_top_k=1).retrieve("Quillmark orchid")

    assert len(nodes) == 1 and "Quillmark" in nodes[0].node.get_content()


def test_missing_key_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGFLOW_API_KEY", raising=False)
    with pytest.raises(ValueError, match="RAGFLOW_API_KEY"):
        RAGFlowRetriever(["ds-1"])


@pytest.mark.vcr
async def test_metadata_condition_and_highlight(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus
) -> None:
    retriever = RAGFlowRetriever(
        [corpus.dataset_id],
        client=client,
        async_client=aclient,
        similarity_threshold=0.0,
        highlight=True,
        metadata_condition={
            "logic": "and",
            "conditions": [{"name": "topic", "comparison_operator": "is", "value": "orchid"}],
        },
    )

    nodes = retriever.retrieve("orchid moth")
    anodes = await retriever.aretrieve("orchid moth")

    assert nodes and {n.node.metadata["ragflow_document_name"] for n in nodes} == {"orchid.txt"}
    assert [n.node.node_id for n in anodes] == [n.node.node_id for n in nodes]
    highlight = nodes[0].node.metadata["ragflow_highlight"]
    assert "<em>orchid</em>" in highlight
    assert "ragflow_highlight" in nodes[0].node.excluded_llm_metadata_keys
    assert "<em>" not in nodes[0].node.get_content(metadata_mode=MetadataMode.LLM)


@pytest.mark.live
def test_own_async_client_survives_a_new_event_loop() -> None:
    with LocalRAGFlowServer() as server:
        client = RAGFlow(api_key=server.api_key, base_url=server.base_url)
        corpus = build_corpus(client, "li-loops", poll_interval=0.05)
        retriever = RAGFlowRetriever(
            [corpus.dataset_id], api_key=server.api_key, base_url=server.base_url
        )
        index = RAGFlowIndex(corpus.dataset_id, api_key=server.api_key, base_url=server.base_url)

        first = asyncio.run(retriever.aretrieve("Quillmark orchid"))
        second = asyncio.run(retriever.aretrieve("Quillmark orchid"))  # another event loop
        from_index = [
            asyncio.run(index.as_retriever().aretrieve("Zephyr-9 rotor speed")) for _ in range(2)
        ]
        client.close()

    assert first and [n.node.node_id for n in first] == [n.node.node_id for n in second]
    assert from_index[0] and from_index[0][0].node.node_id == from_index[1][0].node.node_id
