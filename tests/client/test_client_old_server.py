"""The same client against a v0.22 server (cassettes recorded with ``emulate("0.22")``)."""

from __future__ import annotations

from typing import Any

import pytest
from agent_canvas import canvas

from ragflow_integrations import AuthenticationError, Chat, Message, NotFoundError

from .support import close, drain, make_client, parsed_dataset, ready

pytestmark = [pytest.mark.vcr, pytest.mark.emulate("0.22")]


async def test_detects_old_server(rag: Any) -> None:
    features = await ready(rag.get_features())
    assert features.version == (0, 22, 0)
    assert (features.chat_route, features.stream_mode, features.delete_all) == (
        "path",
        "auto",
        False,
    )
    assert (await ready(rag.version())).startswith("<0.25")
    assert await ready(rag.ping()) is True


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_bad_key_gives_code_109_authentication_error(kind: str, ragflow_server: Any) -> None:
    client = make_client(kind, ragflow_server.base_url, "wrong-key-456")
    try:
        with pytest.raises(AuthenticationError) as info:
            await ready(client.list_datasets())
    finally:
        await close(client)
    assert (info.value.status_code, info.value.code) == (200, 109)


async def test_chats_old_list_shape_nested_body_and_cumulative_stream(
    rag: Any, poll_interval: float
) -> None:
    ds, _ = await parsed_dataset(rag, poll_interval)
    chat = await ready(
        rag.create_chat(
            "Old R",
            avatar="",
            dataset_ids=[ds.id],
            llm=Chat.LLM(temperature=0.3),
            prompt=Chat.Prompt(opener="Hi from 0.22", show_quote=True),
        )
    )
    assert chat.get_prologue() == "Hi from 0.22"
    assert chat.llm is not None and chat.llm.temperature == 0.3
    assert [c.id for c in await ready(rag.list_chats())] == [chat.id]
    assert (await ready(rag.get_chat(chat.id))).name == "Old R"
    await ready(chat.update({"name": "Older R"}))
    assert (await ready(rag.get_chat(chat.id))).name == "Older R"

    session = await ready(chat.create_session())
    message = await ready(session.ask("What is RAGFlow?"))
    assert isinstance(message, Message) and "RAGFlow" in message.content
    answers = await drain(await ready(session.ask("What is RAGFlow?", stream=True)))
    cont, printed = "", []
    for ans in answers:
        printed.append(ans.content[len(cont) :])
        cont = ans.content
    assert "".join(printed) == answers[-1].content
    assert answers[-1].final and answers[-1].reference

    stateless = await ready(rag.chat_completion(chat.id, "Tell me about cats"))
    assert "Cats" in stateless.content
    events = await drain(await ready(rag.chat_completion(chat.id, "cats?", stream=True)))
    assert events[-1].final and "Cats" in events[-1].content
    sessions = await ready(chat.list_sessions())
    assert [s.id for s in sessions] == [session.id]  # temporary sessions were removed

    await ready(chat.delete_sessions(delete_all=True))
    assert await ready(chat.list_sessions()) == []
    await ready(rag.delete_chats(delete_all=True))
    assert await ready(rag.list_chats()) == []


async def test_delete_all_by_ids_and_put_updates(rag: Any, poll_interval: float) -> None:
    ds, docs = await parsed_dataset(rag, poll_interval)
    await ready(docs[0].update({"display_name": "renamed.txt"}))
    assert docs[0].name == "renamed.txt"
    chunk = await ready(docs[0].add_chunk("Extra chunk."))
    await ready(chunk.update({"content": "Extra chunk, edited."}))
    await ready(docs[0].delete_chunks(delete_all=True))
    assert await ready(docs[0].list_chunks()) == []
    await ready(ds.delete_documents(delete_all=True))
    assert await ready(ds.list_documents()) == []
    other = await ready(rag.create_dataset(name="second"))
    assert {d.id for d in await ready(rag.list_datasets())} == {ds.id, other.id}
    await ready(rag.delete_datasets(delete_all=True))
    assert await ready(rag.list_datasets()) == []


async def test_retrieval_and_old_routes(rag: Any, poll_interval: float) -> None:
    ds, _ = await parsed_dataset(rag, poll_interval)
    chunks = await ready(rag.retrieve("What is RAGFlow?", dataset_ids=[ds.id]))
    assert chunks[0].document_name == "ragflow.txt"
    assert (await ready(rag.get_dataset(ds.id))).id == ds.id
    assert await ready(rag.related_questions("RAGFlow"))
    with pytest.raises(NotFoundError):
        await ready(rag.get_knowledge_graph("0" * 32))


async def test_agents_on_an_old_server(rag: Any, poll_interval: float) -> None:
    ds, _ = await parsed_dataset(rag, poll_interval)
    agent = await ready(rag.create_agent("Old agent", canvas(ds.id)))
    assert [a.id for a in await ready(rag.list_agents())] == [agent.id]
    assert (await ready(rag.get_agent(agent.id))).title == "Old agent"
    session = await ready(agent.create_session())
    reply = await ready(session.ask("What is RAGFlow?"))
    assert "RAGFlow" in reply.content
    steps = await drain(
        await ready(agent.ask("What is RAGFlow?", stream=True, session_id=session.id))
    )
    assert steps[-1].final and "RAGFlow" in steps[-1].content
    assert [s.id for s in await ready(agent.list_sessions())] == [session.id]
    await ready(agent.delete_sessions(delete_all=True))
    assert await ready(agent.list_sessions()) == []
