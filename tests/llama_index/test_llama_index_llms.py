"""RAGFlowLLM over a chat assistant, against recorded traffic of the local RAGFlow server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import requests
from adapter_fixtures import uncited
from agent_canvas import canvas
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import LLM
from llama_index_corpus import Corpus

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.llama_index import RAGFlowIndex, RAGFlowLLM
from ragflow_integrations.testing import LocalRAGFlowServer

QUESTION = "What is the rated rotor speed of the Zephyr-9 wind turbine?"


def _assistant(client: RAGFlow, corpus: Corpus, name: str) -> Any:
    return client.create_chat(name=name, dataset_ids=[corpus.dataset_id])


def _messages() -> list[ChatMessage]:
    return [
        ChatMessage(role=MessageRole.SYSTEM, content="Answer briefly."),
        ChatMessage(role=MessageRole.USER, content="Hello"),
        ChatMessage(role=MessageRole.ASSISTANT, content="Hi! Ask me about the documents."),
        ChatMessage(role=MessageRole.USER, content=QUESTION),
    ]


@pytest.mark.vcr
async def test_chat_stream_and_async_agree(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus
) -> None:
    chat = _assistant(client, corpus, "li-llm-chat")
    llm = RAGFlowLLM(chat.id, client=client, async_client=aclient)
    assert isinstance(llm, LLM)

    sync_response = llm.chat(_messages())
    async_response = await llm.achat(_messages())
    stream = list(llm.stream_chat(_messages()))
    astream = [r async for r in await llm.astream_chat(_messages())]

    answer = sync_response.message.content or ""
    assert "4200" in answer
    assert async_response.message.content == answer
    for responses in (stream, astream):
        streamed = "".join(r.delta or "" for r in responses)
        # deltas, not cumulative text; whole answers alone carry RAGFlow's citation markers
        assert streamed.strip() == uncited(answer).strip()
        assert responses[-1].message.content.strip() == uncited(answer).strip()
        assert len(responses) > 1
    # Citations ride along with the response.
    references = sync_response.additional_kwargs["references"]
    assert references and any("4200 rpm" in r["text"] for r in references)
    assert sync_response.raw["reference"] == references
    assert async_response.additional_kwargs["references"] == references
    assert stream[-1].additional_kwargs["references"] == references
    assert astream[-1].additional_kwargs["references"] == references
    assert {r["metadata"]["ragflow_document_name"] for r in references} >= {"zephyr.txt"}


@pytest.mark.vcr
async def test_complete_is_derived_from_chat(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus
) -> None:
    chat = _assistant(client, corpus, "li-llm-complete")
    llm = RAGFlowLLM(chat.id, client=client, async_client=aclient)

    completion = llm.complete(QUESTION)
    acompletion = await llm.acomplete(QUESTION)
    pieces = list(llm.stream_complete(QUESTION))
    apieces = [p async for p in await llm.astream_complete(QUESTION)]

    assert "4200" in completion.text
    assert acompletion.text == completion.text
    assert "".join(p.delta or "" for p in pieces).strip() == uncited(completion.text).strip()
    assert "".join(p.delta or "" for p in apieces).strip() == uncited(completion.text).strip()
    assert completion.additional_kwargs["references"]


@pytest.mark.vcr
def test_stateless_calls_leave_no_session(client: RAGFlow, corpus: Corpus) -> None:
    chat = _assistant(client, corpus, "li-llm-stateless")
    llm = RAGFlowLLM(chat.id, client=client)

    llm.chat(_messages())

    assert chat.list_sessions() == []


def test_metadata_and_validation() -> None:
    llm = RAGFlowLLM(
        "chat-1", api_key="secret-key-123", base_url="http://127.0.0.1:1", context_window=4096
    )
    assert llm.metadata.is_chat_model is True
    assert llm.metadata.is_function_calling_model is False
    assert llm.metadata.context_window == 4096
    assert llm.metadata.model_name == "ragflow"
    assert RAGFlowLLM.class_name() == "RAGFlowLLM"
    assert "secret-key-123" not in repr(llm)
    assert "secret-key-123" not in llm.to_json()
    with pytest.raises(ValueError, match="exactly one"):
        RAGFlowLLM(api_key="k", base_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="exactly one"):
        RAGFlowLLM("c", agent_id="a", api_key="k", base_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="last message"):
        llm.chat([ChatMessage(role=MessageRole.ASSISTANT, content="hi")])


def _create_agent(client: RAGFlow, api_key: str, title: str, dataset_id: str) -> str:
    """The client has no create_agent (RAGFlow agents are built in the UI), so POST it directly."""
    response = requests.post(
        f"{client.base_url}/agents",
        json={"title": title, "dsl": canvas(dataset_id)},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=30,
    )
    body = response.json()
    assert body["code"] == 0, body
    return str(body["data"]["id"])


@pytest.mark.vcr
async def test_agent_backed_llm(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus, ragflow_server: Any
) -> None:
    agent_id = _create_agent(client, ragflow_server.api_key, "li-llm-agent", corpus.dataset_id)
    llm = RAGFlowLLM(agent_id=agent_id, client=client, async_client=aclient)

    response = llm.chat(_messages())
    aresponse = await llm.achat(_messages())
    stream = [r async for r in await llm.astream_chat(_messages())]

    answer = response.message.content or ""
    assert "4200" in answer
    assert aresponse.message.content == answer
    assert "".join(r.delta or "" for r in stream).strip() == answer.strip()
    references = response.additional_kwargs["references"]
    assert any(r["metadata"]["ragflow_document_name"] == "zephyr.txt" for r in references)
    assert stream[-1].additional_kwargs["references"] == references


@pytest.mark.vcr
@pytest.mark.emulate("0.22")
async def test_old_server_cumulative_stream_still_gives_deltas(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus
) -> None:
    chat = _assistant(client, corpus, "li-llm-old-server")
    llm = RAGFlowLLM(chat.id, client=client, async_client=aclient)

    answer = llm.chat(_messages()).message.content or ""
    stream = list(llm.stream_chat(_messages()))
    astream = [r async for r in await llm.astream_chat(_messages())]

    assert "4200" in answer
    for responses in (stream, astream):
        assert "".join(r.delta or "" for r in responses).strip() == uncited(answer).strip()
        assert responses[-1].additional_kwargs["references"]
    assert chat.list_sessions() == []  # the temporary session an old server needs is removed


@pytest.mark.live
async def test_agent_llm_deletes_its_temporary_sessions() -> None:
    from llama_index.core import Document

    with LocalRAGFlowServer() as server:
        client = RAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        aclient = AsyncRAGFlow(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        index = RAGFlowIndex.from_documents(
            [
                Document(
                    id_="z", text="The Zephyr-9 wind turbine has a rated rotor speed of 4200 rpm."
                )
            ],
            dataset_name="li-agent-sessions",
            create_if_missing=True,
            client=client,
            poll_interval=0.05,
        )
        agent = client.create_agent("li-agent-sessions", canvas(index.dataset_id))
        llm = RAGFlowLLM(agent_id=agent.id, client=client, async_client=aclient)
        counts = []

        answer = llm.chat(_messages()).message.content
        counts.append(len(agent.list_sessions()))
        await llm.achat(_messages())
        counts.append(len(agent.list_sessions()))
        streamed = list(llm.stream_chat(_messages()))
        counts.append(len(agent.list_sessions()))
        astreamed = [r async for r in await llm.astream_chat(_messages())]
        counts.append(len(agent.list_sessions()))
        stream = llm.stream_chat(_messages())
        next(stream)  # read one delta, then give up on the rest
        stream.close()
        counts.append(len(agent.list_sessions()))
        astream = await llm.astream_chat(_messages())
        await astream.__anext__()
        await astream.aclose()
        # LlamaIndex's callback wrapper does not close the inner generator: the event loop
        # finalises it (and our cleanup runs) on one of its next iterations.
        for _ in range(100):
            if not agent.list_sessions():
                break
            await asyncio.sleep(0.02)
        counts.append(len(agent.list_sessions()))
        completions = list(llm.stream_complete(QUESTION))
        counts.append(len(agent.list_sessions()))
        await aclient.aclose()
        client.close()

    assert "4200" in (answer or "")
    assert streamed[-1].message.content == astreamed[-1].message.content == answer
    assert completions[-1].text == answer
    assert counts == [0, 0, 0, 0, 0, 0, 0]
