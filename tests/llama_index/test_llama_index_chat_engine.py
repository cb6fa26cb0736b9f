"""RAGFlowChatEngine (server-side session) against recorded traffic of the local RAGFlow server."""

from __future__ import annotations

import pytest
from adapter_fixtures import uncited
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index_corpus import Corpus

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.llama_index import RAGFlowChatEngine

FIRST = "Which moth pollinates the Quillmark orchid?"
SECOND = "Who led the Ledgerline billing migration?"


@pytest.mark.vcr
def test_history_kept_across_turns_with_source_nodes(client: RAGFlow, corpus: Corpus) -> None:
    chat = client.create_chat(name="li-engine-sync", dataset_ids=[corpus.dataset_id])
    engine = RAGFlowChatEngine(chat.id, client=client)

    first = engine.chat(FIRST)
    session_id = engine.session_id
    second = engine.chat(SECOND)

    assert "violet nightjar moth" in first.response
    assert "Ines Albrecht" in second.response
    assert engine.session_id == session_id is not None  # one session for both turns
    history = engine.chat_history
    assert [m.role for m in history] == [MessageRole.USER, MessageRole.ASSISTANT] * 2
    assert history[0].content == FIRST and history[1].content == first.response
    assert history[2].content == SECOND and history[3].content == second.response
    stored = [m.content for m in engine.server_history() if m.role == MessageRole.USER]
    assert stored == [FIRST, SECOND]
    # References become scored nodes linked to their documents.
    assert first.source_nodes
    node = first.source_nodes[0]
    assert "violet nightjar moth" in node.node.get_content()
    source = node.node.source_node
    assert source is not None
    assert source.node_id == corpus.document_ids["orchid.txt"]
    assert node.score is not None

    one_off = engine.chat(FIRST, chat_history=[ChatMessage(role=MessageRole.USER, content=SECOND)])
    sources = {n.node.source_node.node_id for n in one_off.source_nodes if n.node.source_node}
    assert corpus.document_ids["orchid.txt"] in sources  # the question was answered, with history
    assert len(engine.chat_history) == 4  # a turn with explicit history is not recorded
    assert len(engine.server_history()) == 5  # prologue + 2 turns: nothing added to the session

    engine.reset()
    assert engine.chat_history == [] and engine.session_id is None
    third = engine.chat(FIRST)
    assert engine.session_id not in (None, session_id)
    assert "violet nightjar moth" in third.response
    assert len(chat.list_sessions()) == 2


@pytest.mark.vcr
async def test_sync_async_and_streaming_agree(
    client: RAGFlow, aclient: AsyncRAGFlow, corpus: Corpus
) -> None:
    chat = client.create_chat(name="li-engine-modes", dataset_ids=[corpus.dataset_id])
    sync_engine = RAGFlowChatEngine(chat.id, client=client, async_client=aclient)
    async_engine = RAGFlowChatEngine(chat.id, client=client, async_client=aclient)
    stream_engine = RAGFlowChatEngine(chat.id, client=client, async_client=aclient)
    astream_engine = RAGFlowChatEngine(chat.id, client=client, async_client=aclient)

    sync_answer = sync_engine.chat(FIRST)
    async_answer = await async_engine.achat(FIRST)
    streaming = stream_engine.stream_chat(FIRST)
    streamed = "".join(streaming.response_gen)
    astreaming = await astream_engine.astream_chat(FIRST)
    astreamed = "".join([t async for t in astreaming.async_response_gen()])

    assert async_answer.response == sync_answer.response
    assert streamed.strip() == uncited(sync_answer.response).strip()
    assert astreamed.strip() == uncited(sync_answer.response).strip()
    node_ids = [n.node.node_id for n in sync_answer.source_nodes]
    assert node_ids
    assert [n.node.node_id for n in async_answer.source_nodes] == node_ids
    assert [n.node.node_id for n in streaming.source_nodes] == node_ids
    assert [n.node.node_id for n in astreaming.source_nodes] == node_ids
    for engine in (async_engine, stream_engine, astream_engine):
        assert [m.role for m in engine.chat_history] == [MessageRole.USER, MessageRole.ASSISTANT]
        answer = sync_answer.response if engine is async_engine else uncited(sync_answer.response)
        assert (engine.chat_history[1].content or "").strip() == answer.strip()
    stored = [m.content for m in await astream_engine.aserver_history() if m.role == "user"]
    assert stored == [FIRST]


def test_needs_chat_id() -> None:
    with pytest.raises(ValueError, match="chat_id"):
        RAGFlowChatEngine("", api_key="k", base_url="http://127.0.0.1:1")


@pytest.mark.vcr
@pytest.mark.emulate("0.22")
def test_old_server_session(client: RAGFlow, corpus: Corpus) -> None:
    chat = client.create_chat(name="li-engine-old", dataset_ids=[corpus.dataset_id])
    engine = RAGFlowChatEngine(chat.id, client=client)

    first = engine.chat(FIRST)
    streaming = engine.stream_chat(SECOND)
    second = "".join(streaming.response_gen)

    assert "violet nightjar moth" in first.response and first.source_nodes
    assert "Ines Albrecht" in second and streaming.source_nodes
    stored = [m.content for m in engine.server_history() if m.role == MessageRole.USER]
    assert stored == [FIRST, SECOND]
