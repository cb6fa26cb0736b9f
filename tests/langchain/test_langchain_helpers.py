"""Pure helpers of the LangChain adapters (no network)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from ragflow_integrations import AsyncRAGFlow, Chunk, Message, RAGFlow, StreamEvent
from ragflow_integrations.langchain import ChatRAGFlow, RAGFlowRetriever, reference_documents
from ragflow_integrations.langchain.chat_models import _StopCutter, _to_wire_messages


@pytest.mark.parametrize(
    ("pieces", "stop", "expected"),
    [
        (["Hello wor", "ld. More"], ["."], "Hello world"),
        (["abc", "<e", "nd> tail"], ["<end>"], "abc"),
        (["abc <e", "ls", "e"], ["<end>"], "abc <else"),
        (["no stop here"], [], "no stop here"),
        (["x", "STOP", "y"], ["STOP", "x"], ""),
    ],
)
def test_stop_cutter(pieces: list[str], stop: list[str], expected: str) -> None:
    cutter = _StopCutter(stop)
    out = "".join(cutter.feed(p) for p in pieces) + cutter.flush()
    assert out == expected


def test_wire_messages_merge_same_role_neighbours() -> None:
    wire = _to_wire_messages(
        [
            SystemMessage("be brief"),
            HumanMessage("hi"),
            HumanMessage("there"),
            AIMessage("hello"),
            HumanMessage([{"type": "text", "text": "question"}]),
        ]
    )
    assert wire == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi\n\nthere"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "question"},
    ]
    with pytest.raises(ValueError, match="last message must be a human"):
        _to_wire_messages([HumanMessage("hi"), AIMessage("hello")])


def _events() -> list[StreamEvent]:
    return [
        StreamEvent(reasoning_delta="Look for ", reasoning="Look for "),
        StreamEvent(reasoning_delta="reset steps.", reasoning="Look for reset steps."),
        StreamEvent(delta="Use 'Forgot ", content="Use 'Forgot "),
        StreamEvent(delta="password'.", content="Use 'Forgot password'."),
        StreamEvent(
            final=True,
            content="Use 'Forgot password'.",
            session_id="s-1",
            message_id="m-1",
            reference=[
                {
                    "id": "c-1",
                    "content": "Reset text",
                    "document_id": "d-1",
                    "document_name": "passwords.txt",
                    "dataset_id": "ds-1",
                    "similarity": 0.9,
                }
            ],
        ),
    ]


def _scripted_model(monkeypatch: pytest.MonkeyPatch) -> ChatRAGFlow:
    client = RAGFlow(api_key="unit-test-key", base_url="http://ragflow.test:9380")

    def chat_completion(chat_id: str, messages: Any, **kwargs: Any) -> Any:
        assert chat_id == "chat-1"
        assert kwargs["session_id"] is None
        assert kwargs["temperature"] == 0.1
        if kwargs["stream"]:
            return iter(_events())
        return Message(
            content="Use 'Forgot password'.",
            reasoning="Look for reset steps.",
            reference=[Chunk(id="c-1", content="Reset text")],
            id="m-1",
        )

    monkeypatch.setattr(client, "chat_completion", chat_completion)
    return ChatRAGFlow(chat_id="chat-1", client=client, temperature=0.1)


def test_reasoning_and_references_from_a_scripted_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _scripted_model(monkeypatch)
    chunks = list(model.stream("How do I reset my password?"))
    assert [c.content for c in chunks] == ["", "", "Use 'Forgot ", "password'.", ""]
    assert [c.additional_kwargs.get("reasoning_content") for c in chunks[:2]] == [
        "Look for ",
        "reset steps.",
    ]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.content == "Use 'Forgot password'."
    assert merged.additional_kwargs["reasoning_content"] == "Look for reset steps."
    assert merged.response_metadata["session_id"] == "s-1"
    assert merged.id == "m-1"
    docs = reference_documents(merged)
    assert [(d.id, d.page_content, d.metadata["ragflow_document_name"]) for d in docs] == [
        ("c-1", "Reset text", "passwords.txt")
    ]

    reply = model.invoke("How do I reset my password?")
    assert reply.additional_kwargs["reasoning_content"] == "Look for reset steps."
    assert [d.id for d in reference_documents(reply)] == ["c-1"]


def test_public_names_import_without_llama_index() -> None:
    code = (
        "import sys\n"
        "sys.modules['llama_index'] = None  # any llama_index import now fails\n"
        "import ragflow_integrations.langchain as lc\n"
        "print(','.join(sorted(lc.__all__)))\n"
        "assert not any(m.startswith('llama_index') for m in sys.modules if sys.modules[m])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().split(",") == [
        "ChatRAGFlow",
        "RAGFlowAskTool",
        "RAGFlowChatMessageHistory",
        "RAGFlowListDatasetsTool",
        "RAGFlowLoader",
        "RAGFlowRetriever",
        "RAGFlowSearchTool",
        "RAGFlowToolkit",
        "RAGFlowVectorStore",
        "format_sources",
        "reference_documents",
    ]


def test_clients_are_created_once_and_async_ones_per_event_loop() -> None:
    retriever = RAGFlowRetriever(api_key="unit-test-key", base_url="http://ragflow.test:9380")
    assert retriever._sync_client is retriever._sync_client

    async def current() -> tuple[AsyncRAGFlow, AsyncRAGFlow]:
        return retriever._async_client, retriever._async_client

    first, again = asyncio.run(current())
    assert first is again
    later, _ = asyncio.run(current())  # a new loop cannot reuse the old loop's pool
    assert later is not first

    shared = AsyncRAGFlow(api_key="unit-test-key", base_url="http://ragflow.test:9380")
    given = RAGFlowRetriever(async_client=shared, client=retriever._sync_client)
    assert asyncio.run(_async_client_of(given)) is shared
    assert asyncio.run(_async_client_of(given)) is shared
    assert given._sync_client is retriever._sync_client


async def _async_client_of(retriever: RAGFlowRetriever) -> AsyncRAGFlow:
    return retriever._async_client


def test_search_kwargs_map_k_and_drop_empty_filters() -> None:
    retriever = RAGFlowRetriever(
        dataset_ids=["ds"], k=7, api_key="unit-test-key", base_url="http://ragflow.test:9380"
    )
    kwargs = retriever._search_kwargs({"metadata_condition": {"logic": "and", "conditions": []}})
    assert kwargs["page"] == 1
    assert kwargs["page_size"] == 7
    assert "metadata_condition" not in kwargs
    assert "top_k" in kwargs and kwargs["top_k"] == 1024
    condition = {
        "logic": "or",
        "conditions": [{"name": "a", "comparison_operator": "=", "value": "x"}],
    }
    kwargs = retriever._search_kwargs({"metadata_condition": condition, "k": 2})
    assert kwargs["metadata_condition"] == condition
    assert kwargs["page_size"] == 2
    with pytest.raises(ValueError, match="k must be at least 1"):
        retriever._search_kwargs({"k": 0})


def test_one_given_client_brings_its_twin() -> None:
    sync_client = RAGFlow(api_key="unit-test-key", base_url="http://sync-host:9380")
    from_sync = RAGFlowRetriever(client=sync_client)
    twin = asyncio.run(_async_client_of(from_sync))
    assert isinstance(twin, AsyncRAGFlow)
    assert twin.base_url == sync_client.base_url == "http://sync-host:9380/api/v1"

    async_client = AsyncRAGFlow(api_key="unit-test-key", base_url="http://async-host:9380")
    from_async = RAGFlowRetriever(async_client=async_client)
    assert from_async._sync_client.base_url == "http://async-host:9380/api/v1"
    assert asyncio.run(_async_client_of(from_async)) is async_client
