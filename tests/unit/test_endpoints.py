"""Issue 14's endpoints against scripted servers: feature switches and their errors, the batch
metadata update, dataset indexes, agent updates and chat messages (sync and async)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from ragflow_integrations import (
    AsyncRAGFlow,
    FeatureNotSupportedError,
    IndexBuildError,
    IndexTimeoutError,
    NotFoundError,
    RAGFlow,
    RouteNotFoundError,
    ServerFeatures,
)
from ragflow_integrations.ingest import IngestItem, upload_batches
from ragflow_integrations.resources.dataset_indexes import wait_for_index

from .fakes import FakeServer, Recorded, err, ok, sync_client
from .fakes import async_client as make_async

KINDS = pytest.mark.parametrize("kind", ["sync", "async"])
MISSING = err(100, "<NotFound '404: Not Found'>", data=None)  # RAGFlow v0.22's unknown route


async def ready(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def client_for(server: FakeServer, kind: str) -> RAGFlow | AsyncRAGFlow:
    return sync_client(server) if kind == "sync" else make_async(server)


def v22() -> FakeServer:
    return FakeServer(version=None).on("GET", "/api/v1/system/version", MISSING)


# -- feature switches --------------------------------------------------------------------------


def test_first_releases_come_from_ragflow_source() -> None:
    old, new = ServerFeatures.from_version("v0.22.1"), ServerFeatures.from_version("v0.27.0")
    switches = (
        "models_api",
        "metadata_batch",
        "auto_metadata_config",
        "agent_versions",
        "agent_session_route",
        "message_routes",
    )
    assert [getattr(old, s) for s in switches] == [False] * 6
    assert [getattr(new, s) for s in switches] == [True] * 6
    assert (old.index_route, new.index_route) == ("legacy", "index")
    assert ServerFeatures.from_version("0.25.0").message_routes
    assert not ServerFeatures.from_version("0.25.0").agent_versions
    assert ServerFeatures.from_version("0.26.0").index_delete_query
    assert not ServerFeatures.from_version("0.25.2").index_delete_query
    assert ServerFeatures.from_version("0.23").metadata_batch
    assert not ServerFeatures.from_version("0.25.6").models_api


@KINDS
async def test_an_old_server_is_told_the_release_before_any_request(kind: str) -> None:
    server = v22()
    client = client_for(server, kind)
    with pytest.raises(FeatureNotSupportedError) as info:
        await ready(client.list_models("chat"))
    error = info.value
    assert isinstance(error, RouteNotFoundError)
    assert (error.feature, error.minimum_version) == ("models_api", "v0.26.0")
    assert "Listing models needs RAGFlow v0.26.0 or later" in str(error)
    assert "<0.25" in error.server_version
    assert server.calls() == []  # only the version probe went out
    dataset = client.wrap("dataset", {"id": "d"})
    with pytest.raises(FeatureNotSupportedError) as info:
        await ready(dataset.metadata_summary())
    assert "v0.23.0" in str(info.value) and "server_version='0.24'" in str(info.value)
    with pytest.raises(FeatureNotSupportedError, match=r"v0\.25\.1"):
        await ready(dataset.get_auto_metadata())
    with pytest.raises(FeatureNotSupportedError, match=r"v0\.25\.0"):
        await ready(client.delete_message("c", "s", "m"))
    with pytest.raises(FeatureNotSupportedError, match=r"v0\.25\.1"):
        await ready(client.list_agent_versions("a"))
    assert server.calls() == []


@KINDS
async def test_a_route_missing_on_a_server_taken_for_newer_names_the_release(kind: str) -> None:
    server = FakeServer().on("GET", "/api/v1/models", err(404, "Not Found: /models", status=404))
    client = client_for(server, kind)
    with pytest.raises(FeatureNotSupportedError) as info:
        await ready(client.list_models())
    assert "The server has no GET /models: listing models needs RAGFlow v0.26.0" in str(info.value)
    assert "took this server for v0.27.0" in str(info.value)
    assert info.value.status_code == 404 and info.value.path == "/models"


@KINDS
async def test_models_and_defaults(kind: str) -> None:
    listed = {
        "model_id": "m" * 32,
        "model_type": ["chat", "vision"],
        "name": "qwen",
        "provider_name": "Tongyi",
        "instance_name": "default",
    }
    default = {"model_id": "e" * 32, "model_type": "embedding", "model_name": "bge"}
    server = FakeServer().on("GET", "/api/v1/models", ok([listed]))
    server.on("GET", "/api/v1/models/default", ok({"models": [default]}))
    client = client_for(server, kind)
    (model,) = await ready(client.list_models("Chat"))
    assert (model.id, model.name, model.provider, model.model_types) == (
        "m" * 32,
        "qwen",
        "Tongyi",
        ["chat", "vision"],
    )
    assert model.model_type is None  # two types: none is "the" type
    assert server.calls("GET", "/api/v1/models")[0].query == [("type", "chat")]
    defaults = await ready(client.get_default_models())
    assert list(defaults) == ["embedding"] and defaults["embedding"].name == "bge"
    with pytest.raises(ValueError, match="model_type must be one of"):
        await ready(client.list_models("speech"))


# -- metadata ------------------------------------------------------------------------------------


@KINDS
async def test_batch_update_selectors(kind: str) -> None:
    server = FakeServer()
    server.on("POST", "/api/v1/datasets/d/metadata/update", ok({"updated": 1, "matched_docs": 1}))
    server.on(
        "GET",
        "/api/v1/datasets/d/documents",
        ok({"total": 2, "docs": [{"id": "a", "name": "a"}, {"id": "b", "name": "b"}]}),
    )
    dataset = client_for(server, kind).wrap("dataset", {"id": "d"})
    condition = {
        "logic": "and",
        "conditions": [{"name": "k", "comparison_operator": "=", "value": 1}],
    }
    both = await ready(
        dataset.update_metadata(
            {"year": 2024}, ["old"], document_ids=["a"], metadata_condition=condition
        )
    )
    assert (both.updated, both.matched) == (1, 1)
    only_condition = await ready(
        dataset.update_metadata(
            deletes=[{"key": "tags", "value": "x"}], metadata_condition=condition
        )
    )
    assert only_condition.matched == 1
    sent = [c.json for c in server.calls("POST")]
    assert sent[0] == {
        "selector": {"metadata_condition": condition, "document_ids": ["a"]},
        "updates": [{"key": "year", "value": 2024}],
        "deletes": [{"key": "old"}],
    }
    # a condition alone: RAGFlow's route would select nothing, so the matches are listed first
    assert sent[1]["selector"] == {"metadata_condition": condition, "document_ids": ["a", "b"]}
    assert sent[1]["deletes"] == [{"key": "tags", "value": "x"}]
    listing = server.calls("GET", "/api/v1/datasets/d/documents")[0]
    assert (
        "metadata_condition",
        '{"logic": "and", "conditions": [{"name": "k", "comparison_operator": "=", "value": 1}]}',
    ) in listing.query
    with pytest.raises(ValueError, match="select the documents"):
        await ready(dataset.update_metadata({"k": "v"}))
    with pytest.raises(ValueError, match="nothing to change"):
        await ready(dataset.update_metadata(document_ids=["a"]))
    with pytest.raises(TypeError, match="must be a str, int, float"):
        await ready(dataset.update_metadata({"k": {"nested": 1}}, document_ids=["a"]))
    assert len(server.calls("POST")) == 2


@KINDS
async def test_a_large_selection_is_sent_in_groups_and_summed(kind: str) -> None:
    def answer(request: Recorded) -> Any:
        count = len(request.json["selector"]["document_ids"])
        return ok({"updated": count, "matched_docs": count})

    server = FakeServer().on("POST", "/api/v1/datasets/d/metadata/update", answer)
    dataset = client_for(server, kind).wrap("dataset", {"id": "d"})
    ids = [f"id{i}" for i in range(1200)]
    result = await ready(dataset.update_metadata({"k": "v"}, document_ids=ids))
    assert (result.updated, result.matched) == (1200, 1200)
    assert [len(c.json["selector"]["document_ids"]) for c in server.calls("POST")] == [
        500,
        500,
        200,
    ]


@KINDS
async def test_auto_metadata_keeps_the_list_not_given(kind: str) -> None:
    current = {
        "metadata": [{"key": "a", "type": "string"}],
        "built_in_metadata": [{"key": "b", "type": "time"}],
    }
    server = FakeServer().on("GET", "/api/v1/datasets/d/metadata/config", ok(current))
    server.on("PUT", "/api/v1/datasets/d/metadata/config", lambda r: ok(r.json))
    dataset = client_for(server, kind).wrap("dataset", {"id": "d"})
    config = await ready(dataset.update_auto_metadata(metadata=[{"key": "c", "type": "list"}]))
    assert server.calls("PUT")[0].json == {
        "metadata": [{"key": "c", "type": "list"}],
        "built_in_metadata": [{"key": "b", "type": "time"}],
    }
    assert config.built_in_metadata == [{"key": "b", "type": "time"}]
    with pytest.raises(ValueError, match=r"metadata=\[\.\.\.\]"):
        await ready(dataset.update_auto_metadata())


@KINDS
async def test_a_batch_update_that_set_nothing_falls_back_to_one_update_each(kind: str) -> None:
    # RAGFlow's batch update answers success with updated=0 when its metadata store failed
    server = FakeServer().on(
        "POST", "/api/v1/datasets/d/documents", ok([{"id": "a", "name": "a.txt"}])
    )
    server.on("POST", "/api/v1/datasets/d/metadata/update", ok({"updated": 0, "matched_docs": 1}))
    server.on("PATCH", "/api/v1/datasets/d/documents/a", ok({"id": "a", "name": "a.txt"}))
    server.on(
        "GET",
        "/api/v1/datasets/d/documents",
        ok({"total": 1, "docs": [{"id": "a", "name": "a.txt", "meta_fields": {"k": "v"}}]}),
    )
    dataset = client_for(server, kind).wrap("dataset", {"id": "d"})
    (doc,) = await ready(
        dataset.upload_documents([{"name": "a.txt", "blob": b"a", "meta_fields": {"k": "v"}}])
    )
    assert [c.json for c in server.calls("PATCH")] == [{"meta_fields": {"k": "v"}}]
    assert doc.meta_fields == {"k": "v"}


def test_upload_batches_by_count_and_bytes() -> None:
    items = [IngestItem(f"{i}.txt", b"x" * size) for i, size in enumerate([3, 3, 3, 9, 1, 1])]
    sizes = [[i.name for i in batch] for batch in upload_batches(items, 2, max_bytes=8)]
    assert sizes == [["0.txt", "1.txt"], ["2.txt"], ["3.txt"], ["4.txt", "5.txt"]]
    with pytest.raises(ValueError, match="batch_size"):
        upload_batches(items, 0)


# -- indexes -----------------------------------------------------------------------------------


@KINDS
async def test_indexes_on_an_old_server_use_the_run_and_trace_routes(kind: str) -> None:
    server = v22()
    server.on("POST", "/api/v1/datasets/d/run_graphrag", ok({"graphrag_task_id": "t1"}))
    server.on("GET", "/api/v1/datasets/d/trace_graphrag", ok({"id": "t1", "progress": 0.5}))
    server.on("POST", "/api/v1/datasets/d/run_raptor", ok({"raptor_task_id": "t2"}))
    server.on("DELETE", "/api/v1/datasets/d/knowledge_graph", ok(True))
    dataset = client_for(server, kind).wrap("dataset", {"id": "d"})
    assert (await ready(dataset.build_index("knowledge_graph"))).id == "t1"
    status = await ready(dataset.index_status("graph"))
    assert (status.state, status.progress, status.kind) == ("running", 0.5, "graph")
    assert (await ready(dataset.build_index("raptor"))).id == "t2"
    await ready(dataset.delete_index("graph"))
    for call in (lambda: dataset.build_index("mindmap"), lambda: dataset.delete_index("raptor")):
        with pytest.raises(FeatureNotSupportedError, match=r"v0\.25\.1"):
            await ready(call())
    with pytest.raises(ValueError, match="kind must be"):
        await ready(dataset.build_index("toc"))


@KINDS
async def test_index_delete_route_by_release(kind: str) -> None:
    server = FakeServer("v0.25.2").on("DELETE", "/api/v1/datasets/d/raptor", ok({}))
    await ready(client_for(server, kind).wrap("dataset", {"id": "d"}).delete_index("raptor"))
    server = FakeServer("v0.27.0").on("DELETE", "/api/v1/datasets/d/index", ok({}))
    await ready(client_for(server, kind).wrap("dataset", {"id": "d"}).delete_index("mind_map"))
    assert server.calls("DELETE")[0].query == [("type", "mindmap")]


@KINDS
async def test_waiting_for_an_index(kind: str) -> None:
    steps = iter([0.2, 0.7, 1.0])
    server = FakeServer().on(
        "GET", "/api/v1/datasets/d/index", lambda r: ok({"id": "t", "progress": next(steps)})
    )
    client = client_for(server, kind)
    seen: list[float] = []
    dataset = client.wrap("dataset", {"id": "d"})
    task = await ready(
        dataset.wait_for_index(
            "graph", poll_interval=0, on_progress=lambda t: seen.append(t.progress)
        )
    )
    assert task.done and seen == [0.2, 0.7, 1.0]

    failed = FakeServer().on(
        "GET",
        "/api/v1/datasets/d/index",
        ok({"id": "t", "progress": -1, "progress_msg": "a\nLLM quota\n"}),
    )
    with pytest.raises(IndexBuildError, match="failed: LLM quota") as info:
        await ready(client_for(failed, kind).wrap("dataset", {"id": "d"}).wait_for_index("raptor"))
    assert info.value.task.failed

    none = FakeServer().on("GET", "/api/v1/datasets/d/index", ok({}))
    with pytest.raises(NotFoundError, match="build_index\\('mindmap'\\)"):
        await ready(client_for(none, kind).wrap("dataset", {"id": "d"}).wait_for_index("mindmap"))

    running = FakeServer().on("GET", "/api/v1/datasets/d/index", ok({"id": "t", "progress": 0.3}))
    late = client_for(running, kind)
    with pytest.raises(IndexTimeoutError, match="still building after 5 s \\(30%\\)") as timeout:
        await ready(late._run(wait_for_index("d", "graph", timeout=5, clock=_clock(0, 9))))
    assert timeout.value.task.progress == 0.3


def _clock(*times: float) -> Any:
    """A clock answering ``times`` in turn, then the last one for ever."""
    seen = list(times)
    return lambda: seen.pop(0) if len(seen) > 1 else seen[0]


# -- agents ------------------------------------------------------------------------------------


@KINDS
async def test_agent_update_sends_what_the_server_would_otherwise_reset(kind: str) -> None:
    agent = {"id": "a", "title": "Old", "canvas_type": "chatbot", "dsl": {"components": {}}}
    server = FakeServer().on("GET", "/api/v1/agents/a", ok(agent))
    server.on("PUT", "/api/v1/agents/a", ok({"update_time": 1}))
    updated = await ready(client_for(server, kind).update_agent("a", description="new"))
    assert server.calls("PUT")[0].json == {"description": "new", "canvas_type": "chatbot"}
    assert updated.title == "Old"

    old = v22().on("GET", "/api/v1/agents", ok([agent]))
    old.on("PUT", "/api/v1/agents/a", ok(True))
    await ready(client_for(old, kind).update_agent("a", dsl={"components": {"x": {}}}))
    assert old.calls("PUT")[0].json == {"dsl": {"components": {"x": {}}}, "title": "Old"}
    with pytest.raises(ValueError, match="nothing to update"):
        await ready(client_for(old, kind).update_agent("a"))


@KINDS
async def test_agent_session_on_an_old_server_comes_from_the_filtered_list(kind: str) -> None:
    server = v22().on("GET", "/api/v1/agents/a/sessions", ok([{"id": "s", "message": []}]))
    session = await ready(client_for(server, kind).get_agent_session("a", "s"))
    assert (session.id, session.agent_id) == ("s", "a")
    assert ("id", "s") in server.calls("GET")[0].query
    server.on("GET", "/api/v1/agents/a/sessions", ok([]))
    with pytest.raises(NotFoundError):
        await ready(client_for(server, kind).get_agent_session("a", "gone"))


# -- messages ----------------------------------------------------------------------------------


@KINDS
async def test_messages_are_checked_before_they_are_changed(kind: str) -> None:
    session = {
        "id": "s",
        "chat_id": "c",
        "messages": [
            {"role": "user", "content": "q", "id": "m"},
            {"role": "assistant", "content": "a", "id": "m"},
        ],
    }
    server = FakeServer().on("GET", "/api/v1/chats/c/sessions/s", ok(session))
    rated = {
        **session,
        "messages": [
            session["messages"][0],
            {**session["messages"][1], "thumbup": False, "feedback": "wrong"},
        ],
    }
    server.on("PUT", "/api/v1/chats/c/sessions/s/messages/m/feedback", ok(rated))
    client = client_for(server, kind)
    message = client.wrap("message", {"id": "m", "chat_id": "c", "session_id": "s"})
    assert await ready(message.feedback(False, "wrong")) is message
    assert (message.thumbup, message.feedback_text) == (False, "wrong")
    assert server.calls("PUT")[0].json == {"thumbup": False, "feedback": "wrong"}
    with pytest.raises(NotFoundError, match="holds no message with id 'x'"):
        await ready(client.delete_message("c", "s", "x"))
    with pytest.raises(ValueError, match="feedback text goes with thumbup=False"):
        await ready(message.feedback(True, "great"))
    with pytest.raises(TypeError, match="thumbup must be True or False"):
        await ready(client.message_feedback("c", "s", "m", 1))  # type: ignore[arg-type]
    stateless = client.wrap("message", {"id": "m", "content": "a"})
    with pytest.raises(ValueError, match="not stored in a chat session"):
        await ready(stateless.delete())
    assert server.calls("DELETE") == []
