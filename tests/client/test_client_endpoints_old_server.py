"""Issue 14's endpoints against a v0.22 server (cassettes recorded with ``emulate("0.22")``):
what v0.22 offers instead (the run_/trace_ index routes, one document update per metadata set,
the session list), and the error naming the first release for what it lacks."""

from __future__ import annotations

from typing import Any

import pytest
from agent_canvas import canvas

from ragflow_integrations import FeatureNotSupportedError

from .support import parsed_dataset, ready
from .test_client_endpoints import ANN

pytestmark = [pytest.mark.vcr, pytest.mark.emulate("0.22")]


async def test_what_v022_lacks_names_the_first_release(rag: Any) -> None:
    dataset = await ready(rag.create_dataset(name="old"))
    chat = await ready(rag.create_chat("Old R", dataset_ids=[]))
    session = await ready(chat.create_session())
    lacking = {
        "v0.26.0": [rag.list_models, rag.get_default_models],
        "v0.23.0": [
            dataset.metadata_summary,
            lambda: dataset.update_metadata({"k": "v"}, metadata_condition=ANN),
        ],
        "v0.25.1": [
            dataset.get_auto_metadata,
            lambda: dataset.update_auto_metadata(metadata=[]),
            lambda: rag.list_agent_versions("a" * 32),
            lambda: rag.get_agent_version("a" * 32, "b" * 32),
            lambda: dataset.build_index("mindmap"),
            lambda: dataset.index_status("mind_map"),
            lambda: dataset.delete_index("raptor"),
        ],
        "v0.25.0": [
            lambda: rag.delete_message(chat.id, session.id, "m"),
            lambda: rag.message_feedback(chat.id, session.id, "m", False, "wrong"),
        ],
    }
    for release, calls in lacking.items():
        for call in calls:
            with pytest.raises(FeatureNotSupportedError) as info:
                await ready(call())
            assert info.value.minimum_version == release
            assert f"needs RAGFlow {release} or later" in str(info.value)
            assert "<0.25 (no /system/version)" in str(info.value)
    # a document's own auto-metadata configuration, and a message of a v0.22 session
    (doc,) = await ready(dataset.upload_documents([{"display_name": "a.txt", "blob": b"A."}]))
    with pytest.raises(FeatureNotSupportedError, match=r"v0\.25\.1"):
        await ready(doc.update_auto_metadata([{"key": "k", "type": "string"}]))
    answer = await ready(session.ask("Anything?"))
    for call in (answer.delete, lambda: answer.feedback(True)):
        with pytest.raises(FeatureNotSupportedError, match=r"v0\.25\.0"):
            await ready(call())


async def test_uploads_set_metadata_one_document_at_a_time(rag: Any) -> None:
    dataset = await ready(rag.create_dataset(name="old-meta"))
    docs = await ready(
        dataset.upload_documents(
            [
                {"display_name": "a.txt", "blob": b"A.", "meta_fields": {"author": "ann"}},
                {"display_name": "b.txt", "blob": b"B.", "meta_fields": {"author": "ann"}},
            ]
        )
    )
    assert [d.meta_fields for d in docs] == [{"author": "ann"}, {"author": "ann"}]
    listed = {d.name: d.meta_fields for d in await ready(dataset.list_documents())}
    assert listed == {"a.txt": {"author": "ann"}, "b.txt": {"author": "ann"}}


async def test_graph_and_raptor_through_the_run_and_trace_routes(
    rag: Any, poll_interval: float
) -> None:
    dataset, _ = await parsed_dataset(rag, poll_interval)
    for kind in ("graph", "raptor"):
        assert (await ready(dataset.index_status(kind))).state == "none"
        started = await ready(dataset.build_index(kind))
        assert started.id
        done = await ready(dataset.wait_for_index(kind, poll_interval=poll_interval))
        assert done.done and done.id == started.id
    await ready(dataset.delete_index("knowledge_graph"))  # v0.22 deletes the graph's rows
    graph = await ready(rag.get_knowledge_graph(dataset.id))
    assert set(graph) >= {"graph", "mind_map"}


async def test_agent_update_and_session(rag: Any, poll_interval: float) -> None:
    dataset, _ = await parsed_dataset(rag, poll_interval)
    agent = await ready(rag.create_agent("Researcher", canvas(dataset.id)))
    # v0.22 names the saved version after the title, so the client sends it with a new DSL
    await ready(agent.update(dsl=canvas(dataset.id, "Hello from 0.22!")))
    assert agent.title == "Researcher"
    assert agent.dsl["components"]["begin"]["obj"]["params"]["prologue"] == "Hello from 0.22!"
    renamed = await ready(rag.update_agent(agent.id, title="Librarian", description="kb"))
    assert (renamed.title, renamed.description) == ("Librarian", "kb")
    session = await ready(agent.create_session())
    await ready(session.ask("What is RAGFlow?"))
    stored = await ready(rag.get_agent_session(agent.id, session.id))
    assert stored.id == session.id and stored.agent_id == agent.id
    assert any(m.get("content") == "What is RAGFlow?" for m in stored.messages)
    assert (await ready(agent.get_session(session.id))).messages == stored.messages
