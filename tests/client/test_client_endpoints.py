"""Issue 14's endpoints against the v0.27 protocol (cassettes), sync and async: models, document
metadata in bulk, the auto-metadata configuration, dataset indexes, agent updates, versions and
sessions, and chat message deletion and feedback."""

from __future__ import annotations

from typing import Any

import pytest
from agent_canvas import canvas

from ragflow_integrations import (
    DataError,
    IndexTask,
    LLMModel,
    MetadataFieldSummary,
    NotFoundError,
)

from .support import parsed_dataset, ready

pytestmark = pytest.mark.vcr

ANN = {"conditions": [{"name": "author", "comparison_operator": "is", "value": "ann"}]}


async def metas(dataset: Any) -> dict[str, dict[str, Any]]:
    """Each document's metadata as the server lists it, by name."""
    return {d.name: d.meta_fields for d in await ready(dataset.list_documents())}


async def test_models(rag: Any) -> None:
    models = await ready(rag.list_models())
    assert models and all(isinstance(m, LLMModel) and len(m.id) == 32 for m in models)
    embedders = await ready(rag.list_models("embedding"))
    assert embedders and all("embedding" in m.model_types for m in embedders)
    assert {m.id for m in embedders} < {m.id for m in models}
    defaults = await ready(rag.get_default_models())
    assert {"chat", "embedding"} <= set(defaults)
    assert defaults["embedding"].model_type == "embedding"
    assert defaults["embedding"].id in {m.id for m in embedders}
    # a listed model names the embedding model of a new dataset
    embedder = defaults["embedding"]
    dataset = await ready(
        rag.create_dataset("embedded", embedding_model=f"{embedder.name}@{embedder.provider}")
    )
    assert dataset.embedding_model == f"{embedder.name}@{embedder.provider}"


async def test_uploaded_metadata_is_what_the_server_holds(rag: Any) -> None:
    dataset = await ready(rag.create_dataset(name="meta"))
    docs = await ready(
        dataset.upload_documents(
            [
                {"display_name": "a.txt", "blob": b"Alpha.", "meta_fields": {"author": "ann"}},
                {"display_name": "b.txt", "blob": b"Beta.", "meta_fields": {"author": "ann"}},
                {"display_name": "c.txt", "blob": b"Gamma.", "meta_fields": {"tags": ["x", "y"]}},
                {"display_name": "d.txt", "blob": b"Delta."},
            ]
        )
    )
    assert [d.meta_fields for d in docs] == [
        {"author": "ann"},
        {"author": "ann"},
        {"tags": ["x", "y"]},
        {},
    ]
    assert await metas(dataset) == {d.name: d.meta_fields for d in docs}


async def test_metadata_summary_and_batch_update(rag: Any) -> None:
    dataset = await ready(rag.create_dataset(name="meta"))
    a, b, c = await ready(
        dataset.upload_documents(
            [
                {"display_name": "a.txt", "blob": b"A.", "meta_fields": {"author": "ann"}},
                {
                    "display_name": "b.txt",
                    "blob": b"B.",
                    "meta_fields": {"author": "ann", "tags": ["x"]},
                },
                {"display_name": "c.txt", "blob": b"C.", "meta_fields": {"author": "bob"}},
            ]
        )
    )
    summary = await ready(dataset.metadata_summary())
    assert isinstance(summary["author"], MetadataFieldSummary)
    assert summary["author"].counts == {"ann": 2, "bob": 1}
    assert summary["tags"].type == "list"
    assert (await ready(dataset.metadata_summary([c.id])))["author"].counts == {"bob": 1}

    # both selectors: the listed documents that match the condition (b and c listed, b matches)
    both = await ready(
        dataset.update_metadata({"year": 2024}, document_ids=[b.id, c.id], metadata_condition=ANN)
    )
    assert (both.matched, both.updated) == (1, 1)
    assert (await metas(dataset))["b.txt"] == {"author": "ann", "tags": ["x"], "year": 2024}
    assert "year" not in (await metas(dataset))["c.txt"]

    # a condition alone: every matching document; a list-valued key gets the value appended
    alone = await ready(dataset.update_metadata({"tags": "z"}, metadata_condition=ANN))
    assert (alone.matched, alone.updated) == (2, 2)
    held = await metas(dataset)
    assert (held["a.txt"]["tags"], held["b.txt"]["tags"]) == ("z", ["x", "z"])

    # ids alone, with deletes
    result = await ready(
        dataset.update_metadata({"author": "eve"}, ["tags", "year"], document_ids=[a.id, b.id])
    )
    assert result.matched == 2
    held = await metas(dataset)
    assert held["a.txt"] == held["b.txt"] == {"author": "eve"}
    assert held["c.txt"] == {"author": "bob"}

    nobody = {"conditions": [{"name": "author", "comparison_operator": "is", "value": "zed"}]}
    none = await ready(dataset.update_metadata({"k": "v"}, metadata_condition=nobody))
    assert (none.matched, none.updated) == (0, 0)
    with pytest.raises(DataError, match="do not belong to dataset"):
        await ready(dataset.update_metadata({"k": "v"}, document_ids=["f" * 32]))


async def test_auto_metadata_configuration(rag: Any) -> None:
    dataset = await ready(rag.create_dataset(name="auto"))
    assert (await ready(dataset.get_auto_metadata())).metadata == []
    fields = [{"key": "topic", "type": "string", "description": "what it is about"}]
    built_in = [{"key": "date", "type": "time"}]
    await ready(dataset.update_auto_metadata(metadata=fields, built_in_metadata=built_in))
    config = await ready(dataset.update_auto_metadata(built_in_metadata=[]))  # keeps `metadata`
    assert [f["key"] for f in config.metadata] == ["topic"] and config.built_in_metadata == []
    stored = await ready(dataset.get_auto_metadata())
    assert stored.metadata[0]["description"] == "what it is about"
    (doc,) = await ready(dataset.upload_documents([{"display_name": "a.txt", "blob": b"A."}]))
    own = [{"key": "owner", "type": "string"}]
    assert await ready(doc.update_auto_metadata(own)) is doc
    assert doc.parser_config["metadata"] == own


async def test_dataset_indexes(rag: Any, poll_interval: float) -> None:
    dataset, _ = await parsed_dataset(rag, poll_interval)
    seen: dict[str, list[float]] = {}
    for kind in ("graph", "raptor", "mindmap"):
        assert (await ready(dataset.index_status(kind))).state == "none"
        started = await ready(dataset.build_index(kind))
        assert isinstance(started, IndexTask) and started.id and started.kind == kind
        with pytest.raises(DataError, match="in progress"):
            await ready(dataset.build_index(kind))  # one build of a kind at a time
        done = await ready(
            dataset.wait_for_index(
                kind,
                poll_interval=poll_interval,
                on_progress=lambda t: seen.setdefault(t.kind, []).append(t.progress),
            )
        )
        assert done.done and done.id == started.id and seen[kind][-1] == 1.0
        assert (await ready(dataset.index_status(kind))).state == "done"
        await ready(dataset.delete_index(kind))
        assert (await ready(dataset.index_status(kind))).state == "none"
    with pytest.raises(NotFoundError, match="no mind map build"):
        await ready(dataset.wait_for_index("mind_map"))


async def test_agent_update_versions_and_session(rag: Any, poll_interval: float) -> None:
    dataset, _ = await parsed_dataset(rag, poll_interval)
    agent = await ready(rag.create_agent("Researcher", canvas(dataset.id), description="kb"))
    renamed = await ready(rag.update_agent(agent.id, title="Librarian"))
    assert (renamed.id, renamed.title, renamed.description) == (agent.id, "Librarian", "kb")
    assert (
        await ready(agent.update(description="answers", dsl=canvas(dataset.id, "Hello!"))) is agent
    )
    assert (agent.title, agent.description) == ("Librarian", "answers")
    assert agent.dsl["components"]["begin"]["obj"]["params"]["prologue"] == "Hello!"

    versions = await ready(rag.list_agent_versions(agent.id))
    assert versions and versions == await ready(agent.list_versions())
    assert all(v.agent_id == agent.id for v in versions)
    latest = await ready(agent.get_version(versions[0].id))
    assert latest.dsl["components"]["begin"]["obj"]["params"]["prologue"] == "Hello!"
    assert (await ready(rag.get_agent_version(agent.id, versions[-1].id))).id == versions[-1].id

    session = await ready(agent.create_session())
    answer = await ready(session.ask("What is RAGFlow?"))
    assert "RAGFlow" in answer.content
    stored = await ready(agent.get_session(session.id))
    assert (stored.id, stored.agent_id) == (session.id, agent.id)
    assert [m["content"] for m in stored.messages if m["role"] == "user"] == ["What is RAGFlow?"]
    assert (await ready(rag.get_agent_session(agent.id, session.id))).messages == stored.messages
    with pytest.raises(NotFoundError):
        await ready(agent.get_session("0" * 32))


async def test_message_feedback_and_delete(rag: Any, poll_interval: float) -> None:
    dataset, _ = await parsed_dataset(rag, poll_interval)
    chat = await ready(rag.create_chat("Feedback", dataset_ids=[dataset.id]))
    session = await ready(chat.create_session())
    first = await ready(session.ask("What is RAGFlow?"))
    second = await ready(session.ask("Tell me about cats"))
    assert (first.chat_id, first.session_id) == (chat.id, session.id)

    assert await ready(first.feedback(False, "too short")) is first
    assert (first.thumbup, first.feedback_text) == (False, "too short")
    after = await ready(rag.message_feedback(chat.id, session.id, first.id, True))
    rated = [m for m in after.messages if m.get("id") == first.id and m["role"] == "assistant"]
    assert rated[0]["thumbup"] is True and "feedback" not in rated[0]

    await ready(second.delete())
    (listed,) = await ready(chat.list_sessions(id=session.id))
    assert second.id not in {m.get("id") for m in listed.messages}
    assert first.id in {m.get("id") for m in listed.messages}
    with pytest.raises(NotFoundError, match="holds no message"):
        await ready(second.delete())
    remaining = await ready(rag.delete_message(chat.id, session.id, first.id))
    assert [m["role"] for m in remaining.messages] == ["assistant"]  # the prologue is left
