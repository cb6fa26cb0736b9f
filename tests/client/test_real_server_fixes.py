"""Regressions for the wire bugs first contact with a real RAGFlow exposed (issue 11).

Each test runs both clients against the local server in the mode that reproduces what the real
v0.22.1 or v0.27.0 answered (see ../shared/transcripts); the cassettes are recorded from it.
"""

from __future__ import annotations

from typing import Any

import pytest

from ragflow_integrations import NotFoundError, RouteNotFoundError

from .support import drain, parsed_dataset, ready

pytestmark = pytest.mark.vcr
OLD = pytest.mark.emulate("0.22")
TOPICS = {"ragflow.txt": {"topic": "rag", "year": "2024"}, "cats.txt": {"topic": "pets"}}


async def _with_topics(rag: Any, poll_interval: float) -> tuple[Any, list[Any]]:
    ds, docs = await parsed_dataset(rag, poll_interval)
    for doc in docs:
        await ready(doc.update({"meta_fields": TOPICS[doc.name]}))
    return ds, docs


@OLD
async def test_1_2_an_old_server_is_recognised_and_pings(rag: Any) -> None:
    # v0.22.1 answers GET /api/v1/system/version and /system/ping with HTTP 200, code 100
    features = await ready(rag.get_features())
    assert features.version_text.startswith("<0.25") and features.chat_route == "path"
    assert await ready(rag.ping()) is True
    dataset = await ready(rag.create_dataset("first call"))
    assert (await ready(rag.get_dataset(dataset.id))).name == "first call"


@OLD
async def test_1_a_route_the_old_server_lacks_is_a_route_not_found_error(rag: Any) -> None:
    with pytest.raises(RouteNotFoundError, match=r"v0\.26\.0 or later"):
        await ready(rag.list_models())


@OLD
async def test_3_an_unknown_dataset_name_is_not_found(rag: Any) -> None:
    with pytest.raises(NotFoundError, match="no such dataset"):
        await ready(rag.get_dataset(name="no such dataset"))
    assert await ready(rag.list_datasets(name="no such dataset")) == []


@OLD
async def test_4_a_document_filter_the_old_server_ignores_is_applied(
    rag: Any, poll_interval: float
) -> None:
    ds, _ = await _with_topics(rag, poll_interval)
    condition = {"conditions": [{"name": "topic", "comparison_operator": "is", "value": "rag"}]}
    docs = await ready(ds.list_documents(metadata_condition=condition))
    assert [d.name for d in docs] == ["ragflow.txt"]
    assert [d.name for d in await drain(ds.iter_documents(metadata_condition=condition))] == [
        "ragflow.txt"
    ]


@OLD
async def test_5_retrieved_chunks_carry_their_documents_metadata(
    rag: Any, poll_interval: float
) -> None:
    ds, _ = await _with_topics(rag, poll_interval)
    chunks = await ready(
        rag.retrieve("What is RAGFlow?", dataset_ids=[ds.id], reference_metadata={"include": True})
    )
    assert chunks and all(c.document_metadata == TOPICS[c.document_name] for c in chunks)


@OLD
async def test_6_a_stream_whose_last_answer_rewrites_the_text_is_not_repeated(
    rag: Any, poll_interval: float
) -> None:
    ds = await ready(rag.create_dataset("citing"))
    text = b"RAGFlow is an open-source RAG engine. RAGFlow cites the passages it answers from."
    [doc] = await ready(ds.upload_documents([{"name": "rag.txt", "blob": text}]))
    await ready(ds.parse_documents([doc.id], poll_interval=poll_interval))
    chat = await ready(rag.create_chat("citing", dataset_ids=[ds.id]))
    session = await ready(chat.create_session())
    messages = await drain(await ready(session.ask("What is RAGFlow?", stream=True)))
    streamed = "".join(m.delta for m in messages)
    assert streamed == messages[-1].content and streamed.count("RAGFlow is") == 1
    # the last event put a citation marker after the first sentence, mid-text
    assert messages[-1].final_content == streamed.replace("engine.", "engine. [ID:0]", 1) + (
        " [ID:0]"
    )


@OLD
async def test_7_13_1_the_openai_route_and_a_history_get_references(
    rag: Any, poll_interval: float
) -> None:
    ds, _ = await parsed_dataset(rag, poll_interval)
    chat = await ready(rag.create_chat("openai", dataset_ids=[ds.id]))
    answer = await ready(rag.openai_chat_completion(chat.id, "What is RAGFlow?"))
    assert answer["choices"][0]["message"]["reference"]
    history = [
        {"role": "user", "content": "My name is Bob and I like RAG engines."},
        {"role": "assistant", "content": "Nice."},
        {"role": "user", "content": "What is RAGFlow?"},
    ]
    message = await ready(rag.chat_completion(chat.id, history))
    assert "RAGFlow" in message.content and message.reference
    events = await drain(await ready(rag.chat_completion(chat.id, history, stream=True)))
    assert "".join(e.delta for e in events) == events[-1].content
    assert events[-1].final and events[-1].reference
    assert await ready(chat.list_sessions()) == []  # carried whole, no temporary session


@OLD
async def test_8_a_chat_update_shows_what_the_server_holds(rag: Any, poll_interval: float) -> None:
    ds, _ = await parsed_dataset(rag, poll_interval)
    chat = await ready(rag.create_chat("opener", dataset_ids=[ds.id]))
    await ready(chat.update({"prompt": {"opener": "Welcome back!"}}))
    assert chat.get_prologue() == "Welcome back!"
    session = await ready(chat.create_session())
    assert session.messages[0]["content"] == "Welcome back!"
    # v0.22 empties a chat's datasets on an update without dataset_ids: the client sends them
    assert chat.dataset_ids == [ds.id] == (await ready(rag.get_chat(chat.id))).dataset_ids


@OLD
async def test_9_a_title_matching_no_agent_lists_nothing(rag: Any) -> None:
    assert await ready(rag.list_agents(title="nobody")) == []
    assert await ready(rag.list_chats(name="nobody")) == []


async def test_10_meta_fields_the_answer_leaves_out_are_shown(
    rag: Any, poll_interval: float
) -> None:
    ds, docs = await _with_topics(rag, poll_interval)
    assert {d.name: d.meta_fields for d in docs} == TOPICS
    [uploaded] = await ready(
        ds.upload_documents([{"name": "n.txt", "blob": b"notes", "meta_fields": {"k": "v"}}])
    )
    assert uploaded.meta_fields == {"k": "v"}


async def test_unknown_chat_is_not_found(rag: Any) -> None:
    # v0.27.0 answers an unknown chat id with code 109 "no authorization"
    with pytest.raises(NotFoundError):
        await ready(rag.get_chat("0" * 32))
