"""MetadataFilters on RAGFlowRetriever and RAGFlowIndex, as RAGFlow metadata_condition."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from llama_index.core import Document
from llama_index.core.chat_engine.types import ChatMode
from llama_index.core.llms import MockLLM
from llama_index.core.vector_stores import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from ragflow_integrations import RAGFlow
from ragflow_integrations.llama_index import RAGFlowIndex, RAGFlowRetriever
from ragflow_integrations.llama_index._filters import filters_to_metadata_condition
from ragflow_integrations.testing import LocalRAGFlowServer

DOCS = [
    Document(
        id_="falcon",
        text="The Falcon-3 drone flies for 41 minutes.",
        metadata={"team": "aero", "year": 2023, "released": "2023-05-01"},
    ),
    Document(
        id_="kite",
        text="The Kite-7 drone flies for 12 minutes in strong wind.",
        metadata={"team": "aero", "year": 2019, "released": "2019-02-11"},
    ),
    Document(
        id_="pesto",
        text="The drone pilots' pesto uses toasted cashews.",
        metadata={"team": "kitchen", "year": 2021, "released": "2021-09-30"},
    ),
]


def _f(key: str, value: object, op: FilterOperator = FilterOperator.EQ) -> MetadataFilter:
    return MetadataFilter(key=key, value=value, operator=op)  # type: ignore[arg-type]


def test_filters_translate_to_metadata_condition() -> None:
    filters = MetadataFilters(
        filters=[
            _f("team", "aero"),
            _f("team", "x", FilterOperator.NE),
            _f("year", 2020, FilterOperator.GT),
            _f("year", 2020, FilterOperator.GTE),
            _f("year", 2020, FilterOperator.LT),
            _f("year", 2020, FilterOperator.LTE),
            _f("team", ["aero", "kitchen"], FilterOperator.IN),
            _f("team", "aero", FilterOperator.NIN),
            _f("tags", "blue", FilterOperator.CONTAINS),
            _f("title", "Falcon", FilterOperator.TEXT_MATCH),
            _f("owner", None, FilterOperator.IS_EMPTY),
        ],
        condition=FilterCondition.OR,
    )

    condition = filters_to_metadata_condition(filters)

    assert condition == {
        "logic": "or",
        "conditions": [
            {"name": "team", "comparison_operator": "=", "value": "aero"},
            {"name": "team", "comparison_operator": "≠", "value": "x"},
            {"name": "year", "comparison_operator": ">", "value": "2020"},
            {"name": "year", "comparison_operator": "≥", "value": "2020"},
            {"name": "year", "comparison_operator": "<", "value": "2020"},
            {"name": "year", "comparison_operator": "≤", "value": "2020"},
            {"name": "team", "comparison_operator": "in", "value": ["aero", "kitchen"]},
            {"name": "team", "comparison_operator": "not in", "value": ["aero"]},
            {"name": "tags", "comparison_operator": "contains", "value": "blue"},
            {"name": "title", "comparison_operator": "contains", "value": "Falcon"},
            {"name": "owner", "comparison_operator": "empty", "value": None},
        ],
    }
    assert filters_to_metadata_condition(MetadataFilters(filters=[])) is None


def test_unsupported_filters_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"FilterOperator\.ANY"):
        filters_to_metadata_condition(
            MetadataFilters(filters=[_f("tags", ["a"], FilterOperator.ANY)])
        )
    nested = MetadataFilters(
        filters=[_f("team", "aero"), MetadataFilters(filters=[_f("year", 2020)])]
    )
    with pytest.raises(ValueError, match="nested"):
        filters_to_metadata_condition(nested)
    with pytest.raises(ValueError, match="AND or OR"):
        filters_to_metadata_condition(
            MetadataFilters(filters=[_f("team", "aero")], condition=FilterCondition.NOT)
        )
    both = {"filters": MetadataFilters(filters=[_f("team", "aero")])}
    with pytest.raises(ValueError, match="not both"):
        RAGFlowRetriever(
            ["ds"],
            metadata_condition={"logic": "and", "conditions": []},
            api_key="k",
            base_url="http://127.0.0.1:1",
            **both,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def index() -> Iterator[RAGFlowIndex]:
    with LocalRAGFlowServer() as server:
        client = RAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        yield RAGFlowIndex.from_documents(
            DOCS,
            dataset_name="li-filters",
            create_if_missing=True,
            client=client,
            poll_interval=0.05,
        )
        client.close()


def _ids(nodes: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(n.node.metadata["ragflow_ref_doc_id"] for n in nodes)


@pytest.mark.live
def test_filters_restrict_retriever_query_engine_and_chat_engine(index: RAGFlowIndex) -> None:
    kitchen = MetadataFilters(filters=[_f("team", "kitchen")])
    recent_aero = MetadataFilters(filters=[_f("team", "aero"), _f("year", 2020, FilterOperator.GT)])
    loose = {"similarity_threshold": 0.0}

    assert _ids(index.as_retriever(**loose).retrieve("drone")) == ["falcon", "kite", "pesto"]
    assert _ids(index.as_retriever(filters=kitchen, **loose).retrieve("drone")) == ["pesto"]
    assert _ids(index.as_retriever(filters=recent_aero, **loose).retrieve("drone")) == ["falcon"]
    retriever = RAGFlowRetriever([index.dataset_id], client=index.client, filters=kitchen, **loose)
    assert _ids(asyncio.run(retriever.aretrieve("drone"))) == ["pesto"]

    engine = index.as_query_engine(llm=MockLLM(), filters=kitchen, **loose)
    assert _ids(engine.query("drone").source_nodes) == ["pesto"]

    chat = index.as_chat_engine(ChatMode.CONTEXT, llm=MockLLM(), filters=kitchen, **loose)
    assert _ids(chat.chat("drone").source_nodes) == ["pesto"]


@pytest.mark.live
def test_date_and_in_filters_on_the_server(index: RAGFlowIndex) -> None:
    after_2020 = MetadataFilters(filters=[_f("released", "2020-01-01", FilterOperator.GTE)])
    in_years = MetadataFilters(filters=[_f("year", [2019, 2021], FilterOperator.IN)])
    loose = {"similarity_threshold": 0.0}

    assert _ids(index.as_retriever(filters=after_2020, **loose).retrieve("drone")) == [
        "falcon",
        "pesto",
    ]
    assert _ids(index.as_retriever(filters=in_years, **loose).retrieve("drone")) == [
        "kite",
        "pesto",
    ]


def test_unknown_engine_keywords_raise_instead_of_vanishing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ragflow_integrations import DataSet

    monkeypatch.setattr(RAGFlowIndex, "_resolve_dataset", lambda self, *a: DataSet(id="ds"))
    index = RAGFlowIndex(dataset_id="ds", api_key="k", base_url="http://127.0.0.1:1")

    with pytest.raises(TypeError, match="similarty_top_k"):
        index.as_query_engine(llm=MockLLM(), similarty_top_k=3)
    with pytest.raises(TypeError, match="bogus"):
        index.as_chat_engine(ChatMode.CONTEXT, llm=MockLLM(), bogus=1)
    with pytest.raises(TypeError, match="bogus"):
        index.as_retriever(bogus=1)
    # engine options still reach the engine
    engine = index.as_query_engine(llm=MockLLM(), response_mode="tree_summarize")
    assert type(engine._response_synthesizer).__name__ == "TreeSummarize"
