"""Every public client method against the v0.27 protocol (cassettes), sync and async."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from agent_canvas import canvas

from ragflow_integrations import (
    AsyncRAGFlow,
    AuthenticationError,
    Chat,
    Chunk,
    DataError,
    Document,
    Message,
    NotFoundError,
    RAGFlowError,
    StreamEvent,
    UploadError,
)
from ragflow_integrations.ingest import IngestItem, aingest_documents, ingest_documents

from .support import DOCS, close, drain, make_client, parsed_dataset, ready

pytestmark = pytest.mark.vcr


async def test_system_routes(rag: Any) -> None:
    assert await ready(rag.ping()) is True
    assert (await ready(rag.version())).startswith("v0.27")
    features = await ready(rag.get_features())
    assert features.delete_all and features.chat_route == "body"
    assert rag.features is features
    health = await ready(rag.health())
    assert health["status"] == "ok"


async def test_dataset_lifecycle(rag: Any) -> None:
    ds = await ready(
        rag.create_dataset(
            name="kb_1",
            description="tiny",
            language="Chinese",
            parser_config={"chunk_token_count": 64, "layout_recognize": True},
        )
    )
    assert (ds.name, ds.description, ds.language) == ("kb_1", "tiny", "Chinese")
    assert ds.parser_config["chunk_token_num"] == 64
    assert ds.parser_config["layout_recognize"] == "DeepDOC"
    other = await ready(rag.create_dataset(name="kb_2"))

    assert (await ready(rag.get_dataset(ds.id))).name == "kb_1"
    assert (await ready(rag.get_dataset(name="kb_2"))).id == other.id
    assert {d.name for d in await ready(rag.list_datasets())} == {"kb_1", "kb_2"}
    assert len(await ready(rag.list_datasets(page=2, page_size=1))) == 1
    assert [d.id for d in await ready(rag.list_datasets(id=ds.id))] == [ds.id]
    assert {d.name for d in await drain(rag.iter_datasets())} == {"kb_1", "kb_2"}

    updated = await ready(ds.update({"name": "kb_renamed", "chunk_method": "naive"}))
    assert updated is ds and ds.name == "kb_renamed"

    with pytest.raises(ValueError, match="delete_all=True"):
        await ready(rag.delete_datasets())
    await ready(rag.delete_datasets([]))
    await ready(rag.delete_datasets([other.id]))
    assert [d.id for d in await ready(rag.list_datasets())] == [ds.id]
    await ready(rag.delete_datasets(delete_all=True))
    assert await ready(rag.list_datasets()) == []
    with pytest.raises(NotFoundError):
        await ready(rag.get_dataset(ds.id))


async def test_documents(rag: Any, poll_interval: float) -> None:
    ds = await ready(rag.create_dataset(name="docs"))
    docs = await ready(
        ds.upload_documents(
            [
                {
                    "display_name": "ragflow.txt",
                    "blob": DOCS["ragflow.txt"],
                    "meta_fields": {"topic": "rag"},
                },
                {"name": "cats.txt", "blob": DOCS["cats.txt"]},
            ]
        )
    )
    assert [d.name for d in docs] == ["ragflow.txt", "cats.txt"]
    assert docs[0].meta_fields == {"topic": "rag"}
    assert all(d.run == "UNSTART" for d in docs)

    with pytest.raises(DataError):  # cancelling a document that is not running
        await ready(ds.async_cancel_parse_documents([docs[1].id]))
    polls: list[list[str]] = []
    done = await ready(
        ds.parse_documents(
            [d.id for d in docs],
            poll_interval=poll_interval,
            show_progress=True,
            on_progress=lambda seen: polls.append([d.run for d in seen]),
        )
    )
    assert [(d.run, d.chunk_count > 0) for d in done] == [("DONE", True), ("DONE", True)]
    assert polls and polls[-1] == ["DONE", "DONE"]

    listed = await ready(ds.list_documents())
    assert {d.name for d in listed} == {"ragflow.txt", "cats.txt"}
    assert len(await ready(ds.list_documents(offset=2, limit=1))) == 1
    assert [d.name for d in await ready(ds.list_documents(keywords="cat"))] == ["cats.txt"]
    assert [d.name for d in await ready(ds.list_documents(name="cats.txt"))] == ["cats.txt"]
    assert len(await ready(ds.list_documents(run="DONE"))) == 2
    cond = {
        "logic": "and",
        "conditions": [{"name": "topic", "comparison_operator": "=", "value": "rag"}],
    }
    assert [d.name for d in await ready(ds.list_documents(metadata_condition=cond))] == [
        "ragflow.txt"
    ]
    assert {d.id for d in await drain(ds.iter_documents())} == {d.id for d in docs}

    doc = docs[1]
    await ready(doc.update([{"display_name": "felines.txt"}, {"meta_fields": {"kind": "pet"}}]))
    assert (doc.name, doc.meta_fields) == ("felines.txt", {"kind": "pet"})
    assert await ready(doc.download()) == DOCS["cats.txt"]
    refreshed = await ready(doc.refresh())
    assert refreshed.run == "DONE" and refreshed.process_duation == refreshed.process_duration

    single = await ready(rag.create_document(ds, name="extra.txt", blob=b"Extra text."))
    assert single.name == "extra.txt"
    await ready(ds.delete_documents([single.id]))
    await ready(ds.delete_documents(delete_all=True))
    assert await ready(ds.list_documents()) == []


async def test_chunks(rag: Any, poll_interval: float) -> None:
    _ds, docs = await parsed_dataset(rag, poll_interval)
    doc = docs[0]
    chunks = await ready(doc.list_chunks())
    assert chunks and all(isinstance(c, Chunk) for c in chunks)
    assert chunks[0].document_name == "ragflow.txt"
    assert await drain(doc.iter_chunks()) == chunks

    added = await ready(
        doc.add_chunk(
            "Hand-written chunk about RAGFlow.", ["manual"], questions=["What is manual?"]
        )
    )
    assert added.content == "Hand-written chunk about RAGFlow."
    assert added.important_keywords == ["manual"]
    await ready(added.update({"content": "Edited chunk.", "available": False}))
    found = await ready(doc.list_chunks(id=added.id))
    assert [(c.content, c.available) for c in found] == [("Edited chunk.", False)]
    assert [c.id for c in await ready(doc.list_chunks(keywords="Edited"))] == [added.id]
    assert len(await ready(doc.list_chunks(offset=2, limit=1))) == 1

    await ready(doc.delete_chunks([added.id]))
    assert added.id not in {c.id for c in await ready(doc.list_chunks())}
    with pytest.raises(ValueError, match="delete_all"):
        await ready(doc.delete_chunks())
    await ready(doc.delete_chunks(delete_all=True))
    assert await ready(doc.list_chunks()) == []


async def test_retrieval(rag: Any, poll_interval: float) -> None:
    ds, docs = await parsed_dataset(rag, poll_interval)
    chunks = await ready(rag.retrieve(question="What is RAGFlow?", dataset_ids=[ds.id]))
    assert chunks[0].document_name == "ragflow.txt"
    assert chunks[0].similarity is not None and chunks[0].similarity > 0
    limited = await ready(
        rag.retrieve(
            "What is RAGFlow?", [ds.id], offset=1, limit=1, similarity_threshold=0.0, highlight=True
        )
    )
    assert len(limited) == 1 and limited[0].highlight
    scoped = await ready(
        rag.retrieve("cats", [ds.id], document_ids=[docs[1].id], similarity_threshold=0.0)
    )
    assert {c.document_id for c in scoped} == {docs[1].id}
    page = await ready(rag.retrieve_page("What is RAGFlow?", [ds.id], page=1, page_size=5))
    assert page.total >= 1 and page.doc_aggs[0]["doc_name"] == "ragflow.txt"
    assert [c.id for c in page.chunks][:1] == [chunks[0].id]
    via_dataset = await ready(ds.retrieve("What is RAGFlow?"))
    assert [c.id for c in via_dataset] == [c.id for c in chunks]


async def test_chats_and_sessions(rag: Any, poll_interval: float) -> None:
    ds, _ = await parsed_dataset(rag, poll_interval)
    chat = await ready(
        rag.create_chat(
            "Miss R",
            dataset_ids=[ds.id],
            llm=Chat.LLM(temperature=0.5),
            prompt=Chat.Prompt(opener="Hello there!", keywords_similarity_weight=0.7, top_n=4),
        )
    )
    assert chat.get_prologue() == "Hello there!"
    assert chat.llm is not None and chat.llm.temperature == 0.5
    assert chat.vector_similarity_weight == pytest.approx(0.3) and chat.top_n == 4
    assert chat.avatar == chat.icon

    assert (await ready(rag.get_chat(chat.id))).name == "Miss R"
    assert [c.id for c in await ready(rag.list_chats(name="Miss R"))] == [chat.id]
    assert [c.id for c in await drain(rag.iter_chats())] == [chat.id]
    await ready(
        chat.update({"name": "Stefan", "llm": {"temperature": 0.8}, "prompt": {"top_n": 8}})
    )
    fetched = await ready(rag.get_chat(chat.id))
    assert (fetched.name, fetched.top_n, fetched.llm_setting.get("temperature")) == (
        "Stefan",
        8,
        0.8,
    )

    session = await ready(chat.create_session("first"))
    assert session.chat_id == chat.id and session.messages[0]["content"] == "Hello there!"
    assert session.message == session.messages
    await ready(chat.create_session())
    assert len(await ready(chat.list_sessions())) == 2
    assert [s.name for s in await ready(chat.list_sessions(name="first"))] == ["first"]
    assert len(await drain(chat.iter_sessions())) == 2
    await ready(session.update({"name": "renamed"}))
    assert session.name == "renamed"
    await ready(chat.delete_sessions([session.id]))
    assert len(await ready(chat.list_sessions())) == 1
    await ready(chat.delete_sessions(delete_all=True))
    assert await ready(chat.list_sessions()) == []

    await ready(rag.delete_chats([chat.id]))
    assert await ready(rag.list_chats()) == []
    with pytest.raises(NotFoundError):
        await ready(rag.get_chat(chat.id))


async def test_ask_and_completions(rag: Any, poll_interval: float) -> None:
    ds, _ = await parsed_dataset(rag, poll_interval)
    chat = await ready(rag.create_chat("Helper", dataset_ids=[ds.id]))
    session = await ready(chat.create_session())

    message = await ready(session.ask("What is RAGFlow?"))
    assert isinstance(message, Message) and "RAGFlow" in message.content
    assert message.reference and message.reference[0].document_name == "ragflow.txt"

    printed, cont = [], ""
    stream = await ready(session.ask("What is RAGFlow?", stream=True))
    answers = await drain(stream)
    for ans in answers:  # the seed's idiom: print only the new part
        printed.append(ans.content[len(cont) :])
        cont = ans.content
    assert "".join(printed) == answers[-1].content
    assert answers[-1].final and answers[-1].reference
    assert all(a.delta == p for a, p in zip(answers, printed, strict=True))
    assert len((await ready(chat.list_sessions()))[0].messages) >= 3

    stateless = await ready(
        rag.chat_completion(chat.id, [{"role": "user", "content": "Tell me about cats"}])
    )
    assert "Cats" in stateless.content
    events = await drain(await ready(rag.chat_completion(chat.id, "cats?", stream=True)))
    assert all(isinstance(e, StreamEvent) for e in events)
    assert events[-1].final and "Cats" in events[-1].content
    assert isinstance(events[-1].reference[0], Chunk)
    assert len(await ready(chat.list_sessions())) == 1  # stateless calls stored nothing
    via_chat = await ready(chat.completion("What is RAGFlow?"))
    assert "RAGFlow" in via_chat.content

    result = await ready(rag.openai_chat_completion(chat.id, "What is RAGFlow?"))
    choice = result["choices"][0]["message"]
    assert "RAGFlow" in choice["content"] and choice["reference"]
    chunks = await drain(
        await ready(
            rag.openai_chat_completion(chat.id, [{"role": "user", "content": "cats?"}], stream=True)
        )
    )
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert "Cats" in text
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_agents(rag: Any, poll_interval: float) -> None:
    ds, _ = await parsed_dataset(rag, poll_interval)
    agent = await ready(
        rag.create_agent("Researcher", canvas(ds.id), description="answers from kb")
    )
    assert agent.title == "Researcher"
    assert [a.id for a in await ready(rag.list_agents())] == [agent.id]
    assert [a.id for a in await drain(rag.iter_agents())] == [agent.id]
    assert (await ready(rag.get_agent(agent.id))).description == "answers from kb"

    session = await ready(agent.create_session())
    assert session.agent_id == agent.id
    reply = await ready(session.ask("What is RAGFlow?"))
    assert "RAGFlow" in reply.content
    steps = await drain(await ready(session.ask("What is RAGFlow?", stream=True)))
    assert steps[-1].final and "RAGFlow" in steps[-1].content
    assert len(await ready(agent.list_sessions())) == 1
    assert len(await drain(agent.iter_sessions())) == 1

    answer = await ready(agent.ask("Tell me about cats"))
    assert "Cats" in answer.content
    streamed = await drain(await ready(agent.ask("Tell me about cats", stream=True)))
    assert streamed[-1].final and streamed[-1].content == answer.content
    direct = await ready(rag.agent_completion(agent.id, "cats?", session_id=session.id))
    assert "Cats" in direct.content
    events = await drain(await ready(rag.agent_completion(agent.id, "cats?", stream=True)))
    assert events[-1].final and "Cats" in events[-1].content

    await ready(agent.delete_sessions([session.id]))
    await ready(agent.delete_sessions(delete_all=True))
    assert await ready(agent.list_sessions()) == []
    await ready(rag.delete_agent(agent.id))
    assert await ready(rag.list_agents()) == []


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 8).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 8).decode()


async def test_avatars_and_total_upload_failure(rag: Any) -> None:
    """Raw base64 avatars get their data URI (§3.1); all files rejected is an UploadError (§3.2)."""
    ds = await ready(rag.create_dataset(name="pictures", avatar=PNG))
    assert ds.avatar == "data:image/png;base64," + PNG
    await ready(ds.update({"avatar": JPEG}))
    assert ds.avatar == "data:image/jpeg;base64," + JPEG
    with pytest.raises(UploadError) as info:
        await ready(
            ds.upload_documents(
                [{"display_name": "a.exe", "blob": b"MZ"}, {"display_name": "b.exe", "blob": b"MZ"}]
            )
        )
    assert info.value.uploaded == [] and info.value.failed == ["a.exe", "b.exe"]
    assert "not been supported" in str(info.value)


async def test_completion_doc_ids_restrict_retrieval(rag: Any, poll_interval: float) -> None:
    """``doc_ids`` lists reach the server as one comma-separated string (§3.10)."""
    ds, docs = await parsed_dataset(rag, poll_interval)
    cats = next(d for d in docs if d.name == "cats.txt")
    chat = await ready(rag.create_chat("Scoped", dataset_ids=[ds.id]))
    unscoped = await ready(rag.chat_completion(chat.id, "What do cats and RAGFlow do?"))
    assert {c.document_name for c in unscoped.reference} == {"ragflow.txt", "cats.txt"}
    scoped = await ready(
        rag.chat_completion(chat.id, "What do cats and RAGFlow do?", doc_ids=[cats.id])
    )
    assert {c.document_name for c in scoped.reference} == {"cats.txt"}
    session = await ready(chat.create_session())
    asked = await ready(session.ask("What do cats and RAGFlow do?", doc_ids=[cats.id]))
    assert {c.document_name for c in asked.reference} == {"cats.txt"}


async def test_agent_list_filters(rag: Any) -> None:
    """v0.27 reads no ``id``/``title`` on GET /agents: the client filters exactly (§3.12)."""
    first = await ready(rag.create_agent("Researcher", {"dataset_ids": []}))
    second = await ready(rag.create_agent("Researcher two", {"dataset_ids": []}))
    assert [a.id for a in await ready(rag.list_agents(title="Researcher"))] == [first.id]
    assert [a.id for a in await ready(rag.list_agents(id=second.id))] == [second.id]
    assert await ready(rag.list_agents(id=second.id, title="Researcher")) == []
    assert await ready(rag.list_agents(title="nobody")) == []


async def test_related_questions_and_knowledge_graph(rag: Any, poll_interval: float) -> None:
    ds, _ = await parsed_dataset(rag, poll_interval)
    questions = await ready(rag.related_questions("RAGFlow engine"))
    assert questions and all(isinstance(q, str) for q in questions)
    graph = await ready(rag.get_knowledge_graph(ds.id))
    assert set(graph) >= {"graph", "mind_map"}
    await ready(rag.delete_knowledge_graph(ds.id))


async def test_ingest_helpers(rag: Any, poll_interval: float) -> None:
    ds = await ready(rag.create_dataset(name="ingest"))
    items = [IngestItem(n, b, {"source": n}) for n, b in DOCS.items()]
    if isinstance(rag, AsyncRAGFlow):
        docs: list[Any] = await aingest_documents(
            ds, items, batch_size=1, poll_interval=poll_interval
        )
    else:
        docs = ingest_documents(ds, items, batch_size=1, poll_interval=poll_interval)
    assert [(d.name, d.run) for d in docs] == [("ragflow.txt", "DONE"), ("cats.txt", "DONE")]
    assert all(isinstance(d, Document) or hasattr(d, "meta_fields") for d in docs)
    assert docs[0].meta_fields == {"source": "ragflow.txt"}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_bad_key_is_an_authentication_error(kind: str, ragflow_server: Any) -> None:
    client = make_client(kind, ragflow_server.base_url, "wrong-key-123")
    try:
        with pytest.raises(AuthenticationError) as info:
            await ready(client.list_datasets())
    finally:
        await close(client)
    assert info.value.status_code == 401 and info.value.code == 401
    assert "RAGFLOW_API_KEY" in str(info.value) and "wrong-key-123" not in str(info.value)


async def test_server_errors_are_typed(rag: Any) -> None:
    with pytest.raises(NotFoundError):
        await ready(rag.get_dataset("0" * 32))
    ds = await ready(rag.create_dataset(name="errs"))
    with pytest.raises(RAGFlowError) as info:
        await ready(ds.async_parse_documents(["f" * 32]))
    assert info.value.code == 102 and info.value.path == f"/datasets/{ds.id}/chunks"
