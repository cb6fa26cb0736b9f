"""The client against answers recorded from real RAGFlow servers (../shared/transcripts).

Each test scripts a fake server with the exact answer a real v0.22.1 or v0.27.0 gave, for one of
the wire bugs that first contact with a real server exposed, and runs both clients through it.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from ragflow_integrations import (
    AsyncRAGFlow,
    NotFoundError,
    RAGFlow,
    RouteNotFoundError,
)

from .fakes import FakeServer, Recorded, err, ok, sse, sync_client
from .fakes import async_client as make_async

# What RAGFlow v0.22.1 answers for every route it does not have (its generic error handler).
MISSING = err(100, "<NotFound '404: Not Found'>", data=None)


async def ready(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def drain(values: Any) -> list[Any]:
    return [v async for v in values] if hasattr(values, "__aiter__") else list(values)


def real_v22() -> FakeServer:
    server = FakeServer(version=None)
    server.on("GET", "/api/v1/system/version", MISSING)
    return server


def client_for(server: FakeServer, kind: str) -> RAGFlow | AsyncRAGFlow:
    return sync_client(server) if kind == "sync" else make_async(server)


KINDS = pytest.mark.parametrize("kind", ["sync", "async"])


@KINDS
async def test_a_missing_version_route_answered_with_code_100_means_an_old_server(
    kind: str,
) -> None:
    server = real_v22().on("POST", "/api/v1/datasets", ok({"id": "d1", "name": "kb"}))
    client = client_for(server, kind)
    dataset = await ready(client.create_dataset("kb"))
    assert dataset.id == "d1"
    features = await ready(client.get_features())
    assert features.chat_route == "path" and features.update_method == "PUT"


@KINDS
async def test_ping_falls_back_to_the_web_apis_ping_on_old_servers(kind: str) -> None:
    server = real_v22().on("GET", "/api/v1/system/ping", MISSING)
    server.on("GET", "/v1/system/ping", _text("pong"))  # v0.22.1's web API, text/html
    assert await ready(client_for(server, kind).ping()) is True
    assert [r.path for r in server.requests][-2:] == ["/api/v1/system/ping", "/v1/system/ping"]


def _text(body: str) -> Any:
    from .fakes import Answer

    return Answer(headers={"Content-Type": "text/html; charset=utf-8"}, body=body.encode())


def test_missing_route_errors_say_so() -> None:
    server = real_v22().on("GET", "/api/v1/datasets/d1/graph", MISSING)
    client = sync_client(server, server_version="0.27")
    with pytest.raises(RouteNotFoundError, match="older RAGFlow"):
        client.get_knowledge_graph("d1")


LACKS = err(108, "User '0000' lacks permission for dataset 'nope'")


@KINDS
async def test_an_unknown_dataset_name_is_not_found_and_lists_nothing(kind: str) -> None:
    server = real_v22().on("GET", "/api/v1/datasets", LACKS)
    client = client_for(server, kind)
    with pytest.raises(NotFoundError, match="nope"):
        await ready(client.get_dataset(name="nope"))
    assert await ready(client.list_datasets(name="nope")) == []


@KINDS
async def test_a_title_filter_matching_no_agent_lists_nothing(kind: str) -> None:
    server = real_v22().on("GET", "/api/v1/agents", err(102, "The agent doesn't exist."))
    server.on("GET", "/api/v1/chats", err(102, "The chat doesn't exist"))
    client = client_for(server, kind)
    assert await ready(client.list_agents(title="nobody")) == []
    assert await ready(client.list_chats(name="nobody")) == []
    with pytest.raises(NotFoundError):
        await ready(client.get_chat("c0"))


DOCS = [
    {"id": "a", "name": "a.txt", "meta_fields": {"author": "alice", "year": 2024}},
    {"id": "b", "name": "b.txt", "meta_fields": {"author": "bob", "year": 2021}},
    {"id": "c", "name": "c.txt", "meta_fields": {}},
]


@KINDS
async def test_a_document_filter_the_server_ignores_is_applied_on_the_client(kind: str) -> None:
    # v0.22.1 answers every document whatever the metadata_condition says
    server = real_v22().on("GET", "/api/v1/datasets/d1/documents", ok({"docs": DOCS, "total": 3}))
    dataset = client_for(server, kind).wrap("dataset", {"id": "d1"})
    condition = {"conditions": [{"name": "author", "comparison_operator": "is", "value": "Alice"}]}
    docs = await ready(dataset.list_documents(metadata_condition=condition))
    assert [d.id for d in docs] == ["a"]
    newer = {"conditions": [{"name": "year", "comparison_operator": ">", "value": "2022"}]}
    assert [d.id for d in await drain(dataset.iter_documents(metadata_condition=newer))] == ["a"]
    sent = [dict(r.query) for r in server.calls("GET")]
    assert all("metadata_condition" in q for q in sent)  # still sent, for servers that apply it


CHUNKS = [
    {"id": f"k{i}", "content": f"text {i}", "document_id": doc, "dataset_id": "d1"}
    for i, doc in enumerate(["a", "b", "a", "a"])
]


@KINDS
async def test_retrieved_chunks_get_their_documents_metadata_on_old_servers(kind: str) -> None:
    def one_doc(request: Recorded) -> Any:
        wanted = dict(request.query)["id"]
        return ok({"docs": [d for d in DOCS if d["id"] == wanted], "total": 1})

    server = real_v22().on("POST", "/api/v1/retrieval", ok({"chunks": CHUNKS, "total": 4}))
    server.on("GET", "/api/v1/datasets/d1/documents", one_doc)
    client = client_for(server, kind)
    chunks = await ready(
        client.retrieve("q", dataset_ids=["d1"], reference_metadata={"include": True})
    )
    assert [c.document_metadata for c in chunks] == [
        DOCS[0]["meta_fields"],
        DOCS[1]["meta_fields"],
        DOCS[0]["meta_fields"],
        DOCS[0]["meta_fields"],
    ]
    assert len(server.calls("GET", "/api/v1/datasets/d1/documents")) == 2  # one per document
    page = await ready(
        client.retrieve_page("q", ["d1"], reference_metadata={"include": True, "fields": ["year"]})
    )
    assert page.chunks[1].document_metadata == {"year": 2021}


@KINDS
async def test_the_openai_route_gets_reference_where_old_servers_read_it(kind: str) -> None:
    answer = {"choices": [{"message": {"role": "assistant", "content": "hi"}}], "id": "x"}
    server = real_v22().on("POST", "/api/v1/chats_openai/c1/chat/completions", ok(**answer))
    client = client_for(server, kind)
    await ready(client.openai_chat_completion("c1", "hello"))
    body = server.calls("POST")[0].json
    assert body["reference"] is True and body["extra_body"]["reference"] is True


def cumulative_events(*answers: str) -> list[str]:
    """v0.22.1's stream: whole answers so far, then ``data:{"code": 0, "data": true}``."""
    lines = []
    for text in answers:
        data = {"answer": text, "reference": {"chunks": []}, "id": "m", "session_id": "s1"}
        lines += ["data:" + json.dumps({"code": 0, "data": data}), ""]
    return [*lines, 'data:{"code": 0, "data": true}', ""]


@KINDS
async def test_a_stream_whose_last_answer_rewrites_the_text_is_not_repeated(kind: str) -> None:
    streamed = "RAGFlow is an engine. (canned answer from fake model)"
    rewritten = "RAGFlow is an engine [ID:0]. (canned answer from fake model)"
    events = cumulative_events("RAGFlow is an engine.", streamed, rewritten)
    server = real_v22().on("POST", "/api/v1/chats/c1/completions", sse(events))
    session = client_for(server, kind).wrap("session", {"id": "s1", "chat_id": "c1"})
    messages = await drain(await ready(session.ask("What is RAGFlow?", stream=True)))
    assert "".join(m.delta for m in messages) == messages[-1].content == streamed
    assert messages[-1].final_content == rewritten


@KINDS
async def test_a_chat_update_answered_without_data_shows_the_stored_chat(kind: str) -> None:
    stored = {"id": "c1", "name": "c", "prompt": {"opener": "Hello again!"}}
    server = real_v22().on("PUT", "/api/v1/chats/c1", ok())  # v0.22.1: {"code": 0}
    server.on("GET", "/api/v1/chats", ok([stored]))
    chat = client_for(server, kind).wrap("chat", {"id": "c1", "name": "c", "prompt": {}})
    await ready(chat.update({"prompt": {"opener": "Hello again!"}}))
    assert chat.get_prologue() == "Hello again!"


@KINDS
async def test_meta_fields_left_out_of_an_updated_document_are_read_back(kind: str) -> None:
    row = {"id": "a", "dataset_id": "d1", "name": "a.txt"}  # v0.27.0: no meta_fields key
    server = FakeServer().on("PATCH", "/api/v1/datasets/d1/documents/a", ok(row))
    server.on("PUT", "/api/v1/datasets/d1/documents/a", ok(row))
    server.on("GET", "/api/v1/datasets/d1/documents", ok({"docs": [DOCS[0]], "total": 1}))
    server.on("POST", "/api/v1/datasets/d1/documents", ok([dict(row, meta_fields={})]))
    server.on("POST", "/api/v1/datasets/d1/metadata/update", ok({"updated": 1, "matched_docs": 1}))
    client = client_for(server, kind)
    doc = client.wrap("document", {"id": "a", "dataset_id": "d1", "meta_fields": {}})
    await ready(doc.update({"meta_fields": {"author": "alice", "year": 2024}}))
    assert doc.meta_fields == {"author": "alice", "year": 2024}
    dataset = client.wrap("dataset", {"id": "d1"})
    uploaded = await ready(
        dataset.upload_documents(
            [{"name": "a.txt", "blob": b"x", "meta_fields": {"author": "alice,bob"}}]
        )
    )
    # set by the batch route, then read back: what the server holds (here it differs)
    assert uploaded[0].meta_fields == {"author": "alice", "year": 2024}
    assert server.calls("GET", "/api/v1/datasets/d1/documents")[-1].query == [
        ("ids", "a"),
        ("page", "1"),
        ("page_size", "1"),
    ]


OPENAI_STREAM = [
    "data:"
    + json.dumps({"choices": [{"delta": {"content": part, "role": "assistant"}, "index": 0}]})
    for part in ("Bob likes ", "green tea.")
] + [
    "data:"
    + json.dumps(
        {
            "choices": [
                {
                    "delta": {
                        "content": None,
                        "reference": [{"id": "k1", "content": "tea", "document_id": "a"}],
                        "final_content": "Bob likes green tea [ID:0].",
                    },
                    "finish_reason": "stop",
                    "index": 0,
                }
            ]
        }
    ),
    "data:[DONE]",
]
HISTORY = [
    {"role": "user", "content": "My name is Bob and I like green tea."},
    {"role": "assistant", "content": "Nice."},
    {"role": "user", "content": "What do I like?"},
]


@KINDS
async def test_a_conversation_reaches_an_old_server_whole(kind: str) -> None:
    answer = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": "Green tea.",
                    "reference": [{"id": "k1", "content": "tea", "document_id": "a"}],
                },
                "finish_reason": "stop",
            }
        ]
    }
    server = real_v22().on("POST", "/api/v1/chats_openai/c1/chat/completions", ok(**answer))
    client = client_for(server, kind)
    message = await ready(client.chat_completion("c1", HISTORY))
    assert message.content == "Green tea." and [c.id for c in message.reference] == ["k1"]
    assert server.calls("POST")[0].json["messages"] == HISTORY
    assert not server.calls("POST", "/api/v1/chats/c1/sessions")  # no temporary session

    server.on("POST", "/api/v1/chats_openai/c1/chat/completions", sse([*OPENAI_STREAM, ""]))
    events = await drain(await ready(client.chat_completion("c1", HISTORY, stream=True)))
    assert "".join(e.delta for e in events) == events[-1].content == "Bob likes green tea."
    assert events[-1].final and [c.id for c in events[-1].reference] == ["k1"]
    assert events[-1].final_content == "Bob likes green tea [ID:0]."


async def test_options_the_history_route_cannot_carry_are_named_in_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = {"choices": [{"message": {"role": "assistant", "content": "Green tea."}}]}
    server = real_v22().on("POST", "/api/v1/chats_openai/c1/chat/completions", ok(**answer))
    client = sync_client(server)
    with caplog.at_level("WARNING", logger="ragflow_integrations"):
        message = client.chat_completion(
            "c1", HISTORY, doc_ids=["a"], reference_metadata={"include": True}
        )
        client.chat_completion("c1", HISTORY, doc_ids=["a"])
    assert message.content == "Green tea."
    assert server.calls("POST")[0].json["messages"] == HISTORY
    warnings = [r for r in caplog.records if "NOT applied" in r.getMessage()]
    assert len(warnings) == 1 and "doc_ids" in warnings[0].getMessage()
    assert "reference_metadata" not in warnings[0].getMessage()  # ignored there on every route
