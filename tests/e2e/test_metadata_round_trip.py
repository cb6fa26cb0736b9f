"""Typed metadata through both adapters: stored as values RAGFlow compares, read back the same."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from ragflow_integrations import RAGFlow
from ragflow_integrations.testing import LocalRAGFlowServer

METADATA: dict[str, Any] = {
    "released": datetime.date(2024, 1, 2),
    "checked": datetime.datetime(2024, 3, 4, 10, 30),
    "public": True,
    "year": 2024,
    "score": 0.5,
    "tags": ["river", "delta"],
    "owner": None,
    "extra": {"b": 1, "a": [1, 2]},
}
STORED = {
    "released": "2024-01-02",
    "checked": "2024-03-04T10:30:00",
    "public": "true",
    "year": 2024,
    "score": 0.5,
    "tags": ["river", "delta"],
    "extra": '{"a": [1, 2], "b": 1}',
}


def _condition(name: str, op: str, value: Any) -> dict[str, Any]:
    return {
        "logic": "and",
        "conditions": [{"name": name, "comparison_operator": op, "value": value}],
    }


@pytest.mark.live
def test_llama_index_metadata_round_trip_and_date_filter() -> None:
    from llama_index.core import Document
    from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters

    from ragflow_integrations.llama_index import RAGFlowIndex

    otters = Document(id_="otters", text="Otters hold hands while sleeping.", metadata=METADATA)
    old = Document(
        id_="old",
        text="Otters were counted in 2019.",
        metadata={"released": datetime.date(2019, 5, 6), "public": False},
    )
    with LocalRAGFlowServer() as server:
        client = RAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        index = RAGFlowIndex.from_documents(
            [otters, old],
            dataset_name="meta-li",
            create_if_missing=True,
            client=client,
            poll_interval=0.05,
        )
        stored = {
            d.meta_fields["ragflow_ref_doc_id"]: d.meta_fields
            for d in index.dataset.list_documents()
        }
        recent = MetadataFilters(
            filters=[MetadataFilter(key="released", value="2023-12-31", operator=FilterOperator.GT)]
        )
        hits = index.as_retriever(filters=recent, similarity_threshold=0.0).retrieve("otters")
        public = index.as_retriever(
            metadata_condition=_condition("public", "=", "true"), similarity_threshold=0.0
        ).retrieve("otters")
        flags = index.refresh_ref_docs([otters, old])
        client.close()

    assert {k: stored["otters"][k] for k in STORED} == STORED
    assert "owner" not in stored["otters"]
    assert [h.node.metadata["ragflow_ref_doc_id"] for h in hits] == ["otters"]
    assert hits[0].node.metadata["released"] == "2024-01-02"
    assert [h.node.metadata["ragflow_ref_doc_id"] for h in public] == ["otters"]
    assert flags == [False, False]  # change detection is stable


@pytest.mark.live
def test_langchain_metadata_round_trip_and_date_filter() -> None:
    from langchain_core.documents import Document

    from ragflow_integrations.langchain import RAGFlowVectorStore

    with LocalRAGFlowServer() as server:
        client = RAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        dataset = client.create_dataset(name="meta-lc")
        store = RAGFlowVectorStore(
            dataset.id, client=client, poll_interval=0.05, show_progress=False
        )
        store.add_documents(
            [
                Document(page_content="Otters hold hands while sleeping.", metadata=METADATA),
                Document(
                    page_content="Otters were counted in 2019.",
                    metadata={"released": datetime.date(2019, 5, 6)},
                ),
            ],
            ids=["otters", "old"],
        )
        (back,) = store.get_by_ids(["otters"])
        hits = store.similarity_search(
            "otters",
            metadata_condition=_condition("released", ">", "2023-12-31"),
            similarity_threshold=0.0,
        )
        client.close()

    assert {k: back.metadata[k] for k in STORED} == STORED
    assert [h.id for h in hits] == ["otters"]
