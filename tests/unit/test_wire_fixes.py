"""Requests the reference (§3.1, §3.2, §3.4, §3.10, §3.12) says a server needs in a given form.

Each test pins one reviewed mistake: agent filters a v0.27 server ignores, a dropped embedding
model without a warning, keyword lists built from strings, a total upload failure that was not an
``UploadError``, ``doc_ids`` sent as a JSON list, raw base64 avatars, the seed's ``max_token``.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from ragflow_integrations import Chat, UploadError
from ragflow_integrations.resources.chats import doc_ids_param
from ragflow_integrations.resources.datasets import avatar_data_uri

from .fakes import FakeServer, Recorded, async_client, err, ok, sync_client

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 16).decode()

# -- agents: v0.27 reads no id/title (§3.12) ---------------------------------------------------


def agents_server(count: int, version: str | None = "v0.27.0") -> FakeServer:
    """A server listing ``count`` agents and ignoring id/title, like v0.27."""
    agents = [{"id": f"a{i}", "title": f"agent {i}", "type": "agent"} for i in range(count)]
    agents.insert(1, {"id": "tpl", "title": "agent 7", "type": "compilation_template_group"})

    def listing(request: Recorded) -> Any:
        query = dict(request.query)
        page, size = int(query["page"]), int(query["page_size"])
        items = [a for a in agents if query.get("keywords", "") in a["title"]]
        return ok({"canvas": items[(page - 1) * size : page * size], "total": len(items)})

    return FakeServer(version).on("GET", "/api/v1/agents", listing)


def test_agent_filters_are_applied_by_the_client_on_new_servers() -> None:
    server = agents_server(150)
    client = sync_client(server)
    assert [a.id for a in client.list_agents(id="a120")] == ["a120"]
    assert [a.id for a in client.list_agents(title="agent 7")] == ["a7"]
    assert client.list_agents(title="agent 7", id="a8") == []
    assert client.list_agents(id="missing") == []
    sent = [dict(r.query) for r in server.calls("GET", "/api/v1/agents")]
    assert all("id" not in q and "title" not in q for q in sent)
    assert {q.get("keywords") for q in sent} == {None, "agent 7"}
    assert all(int(q["page_size"]) <= 100 for q in sent)


def test_agent_filter_window_counts_matches_and_stops_early() -> None:
    server = agents_server(250)
    client = sync_client(server)
    # "agent 1" matches agent 1, 10-19, 100-199: the window is taken from the matches.
    matches = client.list_agents(title="agent 1", page=1, page_size=1)
    assert [a.title for a in matches] == ["agent 1"]
    assert len(server.calls("GET", "/api/v1/agents")) == 1  # lazy: no further page fetched
    assert client.list_agents(id="a3", page=2, page_size=1) == []


def test_old_servers_still_get_id_and_title() -> None:
    server = FakeServer(version=None).on(
        "GET", "/api/v1/agents", ok([{"id": "a1", "title": "x", "type": "agent"}])
    )
    client = sync_client(server)
    client.list_agents(id="a1", title="x")
    query = dict(server.calls("GET", "/api/v1/agents")[0].query)
    assert (query["id"], query["title"]) == ("a1", "x") and "keywords" not in query


# -- embedding model: a dropped model is announced (§3.1) --------------------------------------


def test_create_dataset_warns_when_it_drops_a_chosen_embedding_model(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = FakeServer().on("POST", "/api/v1/datasets", ok({"id": "d1", "name": "kb"}))
    client = sync_client(server)
    with caplog.at_level(logging.WARNING, logger="ragflow_integrations"):
        client.create_dataset("kb")  # the seed default: silently left to the server
        assert caplog.records == []
        client.create_dataset("kb", embedding_model="text-embedding-3-small")
    assert "embedding_model" not in server.calls("POST")[1].json
    [record] = caplog.records
    assert "text-embedding-3-small" in record.getMessage()
    assert "model_name@provider" in record.getMessage()
    with pytest.raises(TypeError, match="embedding_model"):
        client.create_dataset("kb", embedding_model=5)  # type: ignore[arg-type]


# -- chunk keyword lists (§3.4) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"important_keywords": "cats"}, "important_keywords"),
        ({"important_keywords": 5}, "important_keywords"),
        ({"important_keywords": ["a", 5]}, "important_keywords"),
        ({"questions": "why?"}, "questions"),
        ({"questions": 5}, "questions"),
    ],
)
def test_add_chunk_rejects_non_lists_naming_the_argument(kwargs: Any, name: str) -> None:
    server = FakeServer()
    doc = sync_client(server).wrap("document", {"id": "x", "dataset_id": "d"})
    with pytest.raises(TypeError, match=name):
        doc.add_chunk("text", **kwargs)
    assert server.calls() == []


def test_add_chunk_and_chunk_update_accept_none_as_not_given() -> None:
    path = "/api/v1/datasets/d/documents/x/chunks"
    server = FakeServer().on("POST", path, ok({"chunk": {"id": "c", "content": "text"}}))
    server.on("PATCH", path + "/c", ok())
    client = sync_client(server)
    doc = client.wrap("document", {"id": "x", "dataset_id": "d"})
    chunk = doc.add_chunk("text", None, questions=None)
    doc.add_chunk("text", ("k",), questions=["q?"])
    assert [r.json for r in server.calls("POST")] == [
        {"content": "text", "important_keywords": []},
        {"content": "text", "important_keywords": ["k"], "questions": ["q?"]},
    ]
    with pytest.raises(TypeError, match="important_keywords"):
        chunk.update({"important_keywords": "cats"})
    chunk.update({"content": "new", "questions": None, "important_keywords": ("a",)})
    assert server.calls("PATCH")[0].json == {"content": "new", "important_keywords": ["a"]}


# -- uploads: every file rejected (§3.2) --------------------------------------------------------


def test_upload_where_every_file_fails_is_an_upload_error() -> None:
    server = FakeServer().on(
        "POST",
        "/api/v1/datasets/d/documents",
        err(500, "a.exe: This type of file has not been supported yet!\nb.exe: same"),
    )
    dataset = sync_client(server).wrap("dataset", {"id": "d"})
    with pytest.raises(UploadError) as info:
        dataset.upload_documents(
            [{"display_name": "a.exe", "blob": b"a"}, {"display_name": "b.exe", "blob": b"b"}]
        )
    assert info.value.uploaded == [] and info.value.failed == ["a.exe", "b.exe"]
    assert "not been supported" in str(info.value) and info.value.code == 500


# -- completion doc_ids: a comma-separated string (§3.10) ---------------------------------------


def test_doc_ids_param() -> None:
    assert doc_ids_param(["a", "b"]) == "a,b"
    assert doc_ids_param("a,b") == "a,b"
    assert doc_ids_param([]) is None and doc_ids_param(None) is None
    with pytest.raises(TypeError, match="doc_ids"):
        doc_ids_param(5)
    with pytest.raises(TypeError, match="doc_ids"):
        doc_ids_param(["a", 1])
    with pytest.raises(ValueError, match="doc_ids"):
        doc_ids_param(["a,b"])


def completion_answer() -> Any:
    return ok({"answer": "Hi", "reference": {}, "id": "m", "session_id": "s"})


@pytest.mark.parametrize(
    ("version", "path"),
    [("v0.27.0", "/api/v1/chat/completions"), ("v0.24.0", "/api/v1/chats/c/completions")],
)
def test_doc_ids_are_joined_in_completions_and_session_ask(version: str, path: str) -> None:
    server = FakeServer(version).on("POST", path, completion_answer())
    client = sync_client(server)
    client.chat_completion("c", "q?", session_id="s", doc_ids=["d1", "d2"])
    client.wrap("session", {"id": "s", "chat_id": "c"}).ask("q?", doc_ids=("d3",))
    client.wrap("chat", {"id": "c"}).completion("q?", session_id="s", doc_ids="d4,d5")
    assert [r.json["doc_ids"] for r in server.calls("POST", path)] == ["d1,d2", "d3", "d4,d5"]
    with pytest.raises(TypeError, match="doc_ids"):
        client.chat_completion("c", "q?", doc_ids=[1])


# -- dataset avatars: data URIs (§3.1) ----------------------------------------------------------


def test_avatar_data_uri() -> None:
    assert avatar_data_uri(PNG) == "data:image/png;base64," + PNG
    assert avatar_data_uri(JPEG) == "data:image/jpeg;base64," + JPEG
    assert avatar_data_uri("data:image/png;base64," + PNG) == "data:image/png;base64," + PNG
    assert avatar_data_uri("") == "" and avatar_data_uri("not base64!") == "not base64!"
    gif = base64.b64encode(b"GIF89a" + b"\x00" * 10).decode()
    assert avatar_data_uri(gif) == gif  # unknown type: the server decides


def test_dataset_create_and_update_send_avatar_data_uris() -> None:
    server = FakeServer().on("POST", "/api/v1/datasets", ok({"id": "d1", "name": "kb"}))
    server.on("PUT", "/api/v1/datasets/d1", ok({"id": "d1"}))
    client = sync_client(server)
    dataset = client.create_dataset("kb", avatar=PNG)
    dataset.update({"avatar": JPEG})
    assert server.calls("POST")[0].json["avatar"] == "data:image/png;base64," + PNG
    assert server.calls("PUT")[0].json == {"avatar": "data:image/jpeg;base64," + JPEG}


# -- Chat.LLM.max_token (seed name) -----------------------------------------------------------


def test_chat_llm_has_the_seed_max_token() -> None:
    llm = Chat.LLM(max_token=256)
    assert llm.max_token == llm.max_tokens == 256
    llm.max_token = 128
    assert llm.max_tokens == 128
    chat = Chat.model_validate({"llm_id": "m", "llm_setting": {"max_tokens": 64}})
    assert chat.llm is not None and chat.llm.max_token == 64


async def test_retrieve_accepts_the_seed_signatures_higlight_spelling() -> None:
    """The seed's ``RAGFlow.retrieve`` signature spells it ``higlight``; its docs ``highlight``."""
    server = FakeServer()
    server.on("POST", "/api/v1/retrieval", ok({"chunks": [], "total": 0}))
    sync = sync_client(server)
    sync.retrieve("q", dataset_ids=["d"], higlight=True)
    sync.retrieve("q", dataset_ids=["d"], highlight=True, higlight=False)
    await async_client(server).retrieve("q", dataset_ids=["d"], higlight=True)
    sync.retrieve("q", dataset_ids=["d"])
    sent = [call.json for call in server.calls("POST", "/api/v1/retrieval")]
    assert [body["highlight"] for body in sent] == [True, False, True, False]
    assert all("higlight" not in body for body in sent)
