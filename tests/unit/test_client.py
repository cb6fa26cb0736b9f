"""Client configuration, key hygiene, request bodies (seed -> current translation), safety."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import certifi
import pytest

from ragflow_integrations import (
    AsyncRAGFlow,
    AuthenticationError,
    Chat,
    Chunk,
    DocumentParseError,
    NotFoundError,
    ParseTimeoutError,
    RAGFlow,
    UploadError,
)
from ragflow_integrations._core.features import ServerFeatures
from ragflow_integrations.resources.chats import translate_chat_body
from ragflow_integrations.resources.documents import translate_parser_config

from .fakes import API_KEY, FakeServer, Recorded, err, ok, sync_client

NEW = ServerFeatures.from_version("v0.27.0")
OLD = ServerFeatures.from_version(None)


# -- configuration ----------------------------------------------------------------------------


def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGFLOW_API_KEY", "env-key")
    monkeypatch.setenv("RAGFLOW_BASE_URL", "http://env-host:9380/")
    assert RAGFlow().base_url == "http://env-host:9380/api/v1"
    monkeypatch.delenv("RAGFLOW_BASE_URL")
    monkeypatch.setenv("RAGFLOW_API_BASE", "https://alias-host/api/v1")
    assert RAGFlow().base_url == "https://alias-host/api/v1"


def test_missing_key_is_a_clear_value_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGFLOW_API_KEY", raising=False)
    with pytest.raises(ValueError, match=r"api_key=.*RAGFLOW_API_KEY"):
        RAGFlow(base_url="http://h:9380")


@pytest.mark.parametrize(
    "url",
    [
        "http://h:9380",
        "http://h:9380/",
        "http://h:9380/api/v1",
        "http://h:9380/api/v1/",
        "http://h:9380/api",
    ],
)
def test_base_url_forms(url: str) -> None:
    assert RAGFlow(api_key="k", base_url=url).base_url == "http://h:9380/api/v1"


def test_bad_base_url_and_retries_rejected() -> None:
    with pytest.raises(ValueError, match="base_url"):
        RAGFlow(api_key="k", base_url="h:9380")
    with pytest.raises(ValueError, match="max_retries"):
        RAGFlow(api_key="k", base_url="http://h", max_retries=-1)


def test_key_never_in_repr_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    server = FakeServer().on(
        "GET", "/api/v1/datasets", err(401, "<Unauthorized '401: Unauthorized'>", status=401)
    )
    client = sync_client(server)
    caplog.set_level(logging.DEBUG, logger="ragflow_integrations")
    with pytest.raises(AuthenticationError) as info:
        client.list_datasets()
    texts = [
        repr(client),
        str(client),
        str(info.value),
        repr(info.value),
        repr(client._options),
        caplog.text,
        repr(client.with_options(timeout=1)),
    ]
    assert all(API_KEY not in text for text in texts)
    assert "GET /datasets -> 401" in caplog.text
    assert server.requests[-1].headers["authorization"] == f"Bearer {API_KEY}"


def test_twin_clients_keep_the_configuration() -> None:
    sync = RAGFlow(
        api_key="k-secret",
        base_url="http://rag:9380",
        timeout=7,
        max_retries=1,
        verify=certifi.where(),
        server_version="0.22",
    )
    twin = sync.to_async()
    assert isinstance(twin, AsyncRAGFlow)
    assert (twin.base_url, twin.timeout, twin.max_retries) == ("http://rag:9380/api/v1", 7.0, 1)
    assert twin._options == sync._options
    assert twin.features is not None and twin.features.version == (0, 22, 0)
    back = twin.to_sync()
    assert back._options == sync._options and "k-secret" not in repr(back)


def test_import_is_light() -> None:
    code = (
        "import sys, ragflow_integrations; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'httpx', 'langchain_core', "
        "'llama_index', 'starlette', 'uvicorn', 'numpy', 'tqdm', 'requests'}); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- translations -----------------------------------------------------------------------------


def test_parser_config_translation() -> None:
    assert translate_parser_config(
        {"chunk_token_count": 256, "layout_recognize": True, "raptor": {"user_raptor": False}}
    ) == {"chunk_token_num": 256, "layout_recognize": "DeepDOC", "raptor": {"use_raptor": False}}
    assert translate_parser_config({"layout_recognize": False}) == {
        "layout_recognize": "Plain Text"
    }
    assert translate_parser_config(None) is None


def test_seed_chat_body_becomes_flat_on_new_servers() -> None:
    body = {
        "name": "Miss R",
        "avatar": "b64",
        "dataset_ids": ["d"],
        "llm": Chat.LLM(model_name="m@p", temperature=0.8, max_tokens=256),
        "prompt": {
            "opener": "Hi!",
            "show_quote": False,
            "prompt": "Use {knowledge}",
            "rerank_model": "r",
            "keywords_similarity_weight": 0.7,
            "top_n": 8,
            "similarity_threshold": 0.3,
            "empty_response": "none",
            "variables": [{"key": "knowledge", "optional": True}],
        },
    }
    assert translate_chat_body(body, NEW) == {
        "name": "Miss R",
        "icon": "b64",
        "dataset_ids": ["d"],
        "llm_id": "m@p",
        "llm_setting": {"temperature": 0.8, "max_tokens": 256},
        "prompt_config": {
            "prologue": "Hi!",
            "quote": False,
            "system": "Use {knowledge}",
            "empty_response": "none",
            "parameters": [{"key": "knowledge", "optional": True}],
        },
        "similarity_threshold": 0.3,
        "top_n": 8,
        "rerank_id": "r",
        "vector_similarity_weight": 0.3,
    }
    old = translate_chat_body(body, OLD)
    assert old["llm"] == {"model_name": "m@p", "temperature": 0.8, "max_tokens": 256}
    assert old["prompt"]["opener"] == "Hi!" and old["avatar"] == "b64"


def test_chat_exposes_seed_and_native_attributes() -> None:
    native = Chat.model_validate(
        {
            "icon": "i",
            "llm_id": "m",
            "llm_setting": {"top_p": 0.3},
            "prompt_config": {"prologue": "Hey", "quote": True},
            "vector_similarity_weight": 0.2,
            "top_n": 4,
        }
    )
    assert native.avatar == "i" and native.llm is not None and native.llm.model_name == "m"
    assert native.prompt is not None and native.prompt.keywords_similarity_weight == 0.8
    assert native.get_prologue() == "Hey"
    old = Chat.model_validate(
        {
            "avatar": "a",
            "llm": {"model_name": "m"},
            "prompt": {"opener": "Yo", "keywords_similarity_weight": 0.7},
        }
    )
    assert old.icon == "a" and old.llm_id == "m" and old.get_prologue() == "Yo"
    assert old.vector_similarity_weight == pytest.approx(0.3)


def test_create_dataset_request_body() -> None:
    server = FakeServer().on("POST", "/api/v1/datasets", ok({"id": "d1", "name": "kb"}))
    server.on("PUT", "/api/v1/datasets/d1", ok({"id": "d1", "language": "Chinese"}))
    client = sync_client(server)
    ds = client.create_dataset("kb", parser_config={"chunk_token_count": 128}, language="Chinese")
    assert server.calls("POST")[0].json == {
        "name": "kb",
        "permission": "me",
        "chunk_method": "naive",
        "parser_config": {"chunk_token_num": 128},
    }
    assert server.calls("PUT")[0].json == {"language": "Chinese"}
    assert ds.language == "Chinese"
    client.create_dataset("kb2", embedding_model="BAAI/bge-small-en-v1.5@Builtin")
    assert server.calls("POST")[1].json["embedding_model"] == "BAAI/bge-small-en-v1.5@Builtin"
    client.create_dataset("kb3", embedding_model="no-provider")
    assert "embedding_model" not in server.calls("POST")[2].json


def test_document_update_merges_a_list_and_renames_display_name() -> None:
    doc = {"id": "x", "name": "a.txt", "dataset_id": "d1"}
    server = FakeServer().on(
        "GET", "/api/v1/datasets/d1/documents", ok({"total": 1, "docs": [doc]})
    )
    server.on("PATCH", "/api/v1/datasets/d1/documents/x", ok({**doc, "name": "b.txt"}))
    client = sync_client(server)
    ds = client.wrap("dataset", {"id": "d1"})
    document = ds.list_documents(id="x")[0]
    document.update([{"parser_config": {"chunk_token_count": 256}}, {"display_name": "b.txt"}])
    assert server.calls("PATCH")[0].json == {
        "parser_config": {"chunk_token_num": 256},
        "name": "b.txt",
    }
    assert document.name == "b.txt"


def test_old_servers_get_put_updates() -> None:
    server = FakeServer(version=None).on("PUT", "/api/v1/datasets/d1/documents/x", ok())
    stored = {"id": "x", "dataset_id": "d1", "name": "a.txt", "enabled": 1}
    server.on("GET", "/api/v1/datasets/d1/documents", ok({"docs": [stored], "total": 1}))
    client = sync_client(server)
    doc = client.wrap("document", {"id": "x", "dataset_id": "d1"}).update({"enabled": True})
    assert server.calls("PUT")[0].json == {"enabled": 1}
    # a bare {"code": 0} answer: the document is read again, so it shows what the server holds
    assert doc.name == "a.txt" and ("id", "x") in server.calls("GET")[-1].query


# -- delete safety ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["datasets", "chats", "documents", "chunks", "sessions"])
def test_ids_none_without_delete_all_is_refused_and_empty_sends_nothing(target: str) -> None:
    server = FakeServer()
    client = sync_client(server)
    doc = client.wrap("document", {"id": "x", "dataset_id": "d"})
    deleters = {
        "datasets": client.delete_datasets,
        "chats": client.delete_chats,
        "documents": client.wrap("dataset", {"id": "d"}).delete_documents,
        "chunks": doc.delete_chunks,
        "sessions": client.wrap("chat", {"id": "c"}).delete_sessions,
    }
    delete: Any = deleters[target]
    with pytest.raises(ValueError, match="delete_all=True"):
        delete()
    delete([])
    assert server.requests == []


def test_delete_all_on_new_server_sends_the_flag() -> None:
    server = FakeServer().on("DELETE", "/api/v1/datasets", ok({"success_count": 3}))
    sync_client(server).delete_datasets(delete_all=True)
    assert server.calls("DELETE")[0].json == {"delete_all": True}


def test_delete_all_on_old_server_lists_then_deletes_by_id() -> None:
    server = FakeServer(version=None)
    server.on("GET", "/api/v1/datasets", ok([{"id": "a"}, {"id": "b"}]))
    server.on("DELETE", "/api/v1/datasets", ok())
    sync_client(server).delete_datasets(delete_all=True)
    deletes = server.calls("DELETE")
    assert [d.json for d in deletes] == [{"ids": ["a", "b"]}]
    assert all(
        r.json is None or r.json.get("ids") is not None
        for r in server.requests
        if r.method == "DELETE"
    )


def test_chunk_delete_uses_chunk_ids_key() -> None:
    server = FakeServer().on("DELETE", "/api/v1/datasets/d/documents/x/chunks", ok())
    client = sync_client(server)
    client.wrap("document", {"id": "x", "dataset_id": "d"}).delete_chunks(["c1"])
    assert server.calls("DELETE")[0].json == {"chunk_ids": ["c1"]}


# -- completions ------------------------------------------------------------------------------


def answer(text: str = "Hi", **extra: Any) -> Any:
    return ok(
        {
            "answer": text,
            "reference": {
                "total": 1,
                "chunks": [{"id": "c", "content": "ctx", "document_name": "a.txt"}],
                "doc_aggs": [],
            },
            "id": "m",
            "session_id": "s",
            **extra,
        }
    )


def test_stateless_completion_sends_history_and_stores_nothing() -> None:
    server = FakeServer().on("POST", "/api/v1/chat/completions", answer())
    history = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    message = sync_client(server).chat_completion("chat1", history)
    assert server.calls("POST")[0].json == {
        "chat_id": "chat1",
        "stream": False,
        "messages": history,
        "pass_all_history_messages": True,
        "store_history_messages": False,
    }
    assert message.content == "Hi" and message.reference[0].document_name == "a.txt"


def test_session_ask_returns_one_message_not_a_generator() -> None:
    server = FakeServer().on(
        "POST", "/api/v1/chat/completions", answer("<think>r</think>The answer [ID:0]")
    )
    client = sync_client(server)
    session = client.wrap("session", {"id": "s", "chat_id": "chat1"})
    message = session.ask("q?")
    assert message.content == "The answer [ID:0]" and message.reasoning == "r"
    assert server.calls("POST")[0].json == {
        "chat_id": "chat1",
        "stream": False,
        "session_id": "s",
        "messages": [{"role": "user", "content": "q?"}],
    }


def test_old_server_stateless_completion_uses_a_temporary_session() -> None:
    server = FakeServer(version=None)
    server.on("POST", "/api/v1/chats/chat1/sessions", ok({"id": "tmp", "chat_id": "chat1"}))
    server.on("POST", "/api/v1/chats/chat1/completions", answer())
    server.on("DELETE", "/api/v1/chats/chat1/sessions", ok())
    message = sync_client(server).chat_completion("chat1", "hello")
    assert [(r.method, r.path) for r in server.calls()] == [
        ("POST", "/api/v1/chats/chat1/sessions"),
        ("POST", "/api/v1/chats/chat1/completions"),
        ("DELETE", "/api/v1/chats/chat1/sessions"),
    ]
    assert server.calls("POST")[1].json == {
        "stream": False,
        "question": "hello",
        "session_id": "tmp",
    }
    assert server.calls("DELETE")[0].json == {"ids": ["tmp"]}
    assert message.session_id is None


def test_openai_completion_nests_extra_body() -> None:
    server = FakeServer().on(
        "POST", "/api/v1/openai/chat1/chat/completions", ok(choices=[{"message": {"content": "x"}}])
    )
    topic = {"logic": "and", "conditions": [{"name": "t", "comparison_operator": "=", "value": 1}]}
    client = sync_client(server)
    result = client.openai_chat_completion("chat1", "hello", metadata_condition=topic)
    assert result["choices"][0]["message"]["content"] == "x"
    assert server.calls("POST")[0].json["extra_body"] == {
        "reference": True,
        "metadata_condition": topic,
    }
    # An empty filter means "no filter" (RAGFlow would match nothing), so it is not sent.
    client.openai_chat_completion("chat1", "hello", metadata_condition={"conditions": []})
    assert server.calls("POST")[1].json["extra_body"] == {"reference": True}


def test_retrieval_pages_past_100_and_requires_dataset_ids() -> None:
    def page(request: Recorded) -> Any:
        body = request.json
        start = (body["page"] - 1) * body["page_size"]
        chunks = [{"id": str(i)} for i in range(start, min(start + body["page_size"], 230))]
        return ok({"total": 230, "chunks": chunks, "doc_aggs": []})

    server = FakeServer().on("POST", "/api/v1/retrieval", page)
    client = sync_client(server)
    chunks = client.retrieve("q", dataset_ids=["d"], offset=50, limit=120)
    assert [c.id for c in chunks] == [str(i) for i in range(49, 169)]
    assert all(r.json["page_size"] <= 100 for r in server.calls("POST"))
    with pytest.raises(ValueError, match="dataset_ids"):
        client.retrieve("q")


# -- parsing ----------------------------------------------------------------------------------


def docs_answer(*runs: tuple[str, str, float, str]) -> Any:
    return ok(
        {
            "total": len(runs),
            "docs": [
                {"id": i, "name": f"{i}.txt", "run": run, "progress": p, "progress_msg": msg}
                for i, run, p, msg in runs
            ],
        }
    )


def test_parse_documents_polls_one_list_call_per_poll_and_reports_failures() -> None:
    server = FakeServer().on("POST", "/api/v1/datasets/d/chunks", ok())
    server.on(
        "GET",
        "/api/v1/datasets/d/documents",
        docs_answer(("a", "RUNNING", 0.3, ""), ("b", "RUNNING", 0.1, "")),
        docs_answer(("a", "DONE", 1.0, ""), ("b", "FAIL", -1, "Unsupported file")),
    )
    client = sync_client(server)
    progress: list[int] = []
    with pytest.raises(DocumentParseError) as info:
        client.wrap("dataset", {"id": "d"}).parse_documents(
            ["a", "b"], poll_interval=0, on_progress=lambda docs: progress.append(len(docs))
        )
    assert [(f.document_id, f.name, f.progress_msg) for f in info.value.failures] == [
        ("b", "b.txt", "Unsupported file")
    ]
    assert "b.txt" in str(info.value) and "Unsupported file" in str(info.value)
    polls = server.calls("GET")
    assert len(polls) == 2 == len(progress)
    assert ("ids", "a") in polls[0].query and ("ids", "b") in polls[0].query


def test_parse_timeout_cancels_when_asked() -> None:
    server = FakeServer().on("POST", "/api/v1/datasets/d/chunks", ok())
    server.on("DELETE", "/api/v1/datasets/d/chunks", ok())
    server.on("GET", "/api/v1/datasets/d/documents", docs_answer(("a", "RUNNING", 0.5, "")))
    client = sync_client(server)
    with pytest.raises(ParseTimeoutError) as info:
        client.wrap("dataset", {"id": "d"}).parse_documents(
            ["a"], timeout=0, poll_interval=0, cancel_on_timeout=True
        )
    assert [d.id for d in info.value.pending] == ["a"] and info.value.cancelled
    assert server.calls("DELETE")[0].json == {"document_ids": ["a"]}


def test_partial_upload_raises_upload_error_keeping_uploaded() -> None:
    server = FakeServer().on(
        "POST",
        "/api/v1/datasets/d/documents",
        err(500, "b.exe: type not supported", data=[{"id": "1", "name": "a.txt"}]),
    )
    client = sync_client(server)
    with pytest.raises(UploadError) as info:
        client.wrap("dataset", {"id": "d"}).upload_documents(
            [{"display_name": "a.txt", "blob": b"a"}, {"display_name": "b.exe", "blob": b"b"}]
        )
    assert [d.name for d in info.value.uploaded] == ["a.txt"]
    assert info.value.failed == ["b.exe"]
    body = server.calls("POST")[0].body
    assert b'filename="a.txt"' in body and b'filename="b.exe"' in body


def test_get_dataset_missing_is_not_found() -> None:
    server = FakeServer().on(
        "GET", "/api/v1/datasets/zzz", err(102, "User 'x' lacks permission for dataset 'zzz'")
    )
    with pytest.raises(NotFoundError, match="zzz"):
        sync_client(server).get_dataset("zzz")


def test_default_timeouts_verify_and_overrides() -> None:
    server = FakeServer().on("GET", "/api/v1/datasets", ok([]))
    client = sync_client(server)
    client.list_datasets()
    client.with_options(timeout=5, connect_timeout=1).list_datasets()
    assert [o["timeout"] for o in server.transport_options] == [(10.0, 60.0), (1, 5)]
    assert all(o["verify"] is not False for o in server.transport_options)
    bundle_server = FakeServer().on("GET", "/api/v1/datasets", ok([]))
    sync_client(bundle_server, verify=certifi.where()).list_datasets()
    sync_client(bundle_server, verify=False).list_datasets()
    assert [o["verify"] for o in bundle_server.transport_options] == [certifi.where(), False]


def test_async_ca_bundle_becomes_an_ssl_context() -> None:
    import ssl

    import certifi

    from ragflow_integrations._transport.async_ import _httpx_verify

    context = _httpx_verify(certifi.where())
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert _httpx_verify(False) is False
    default = _httpx_verify(True)
    assert isinstance(default, ssl.SSLContext) and default.verify_mode == ssl.CERT_REQUIRED
    assert _httpx_verify(True) is default  # built once, shared by every pool
    assert _httpx_verify(certifi.where()) is context


@pytest.mark.parametrize("data", ["oops", 7, None, [1, 2]])
def test_odd_success_data_is_a_decode_error_not_a_python_error(data: Any) -> None:
    from ragflow_integrations import ResponseDecodeError

    server = FakeServer().on("POST", "/api/v1/datasets", ok(data) if data is not None else ok())
    with pytest.raises(ResponseDecodeError, match="created dataset"):
        sync_client(server).create_dataset("kb")


def test_failed_temporary_session_cleanup_does_not_hide_the_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = FakeServer(version=None)
    server.on("POST", "/api/v1/chats/chat1/sessions", ok({"id": "tmp", "chat_id": "chat1"}))
    server.on("POST", "/api/v1/chats/chat1/completions", answer("All good"))
    server.on("DELETE", "/api/v1/chats/chat1/sessions", err(102, "database is locked"))
    message = sync_client(server).chat_completion("chat1", "hello")
    assert message.content == "All good"
    assert "Could not delete the temporary session tmp" in caplog.text


def test_seed_attribute_access_on_parser_config_and_chunks() -> None:
    from ragflow_integrations import DataSet as SyncDataSet

    dataset = SyncDataSet.model_validate(
        {"parser_config": {"chunk_token_num": 128, "raptor": {"use_raptor": False}}}
    )
    assert dataset.parser_config.chunk_token_count == 128  # the seed's name
    assert dataset.parser_config["chunk_token_num"] == 128
    assert dataset.parser_config.raptor.use_raptor is False
    config = SyncDataSet.ParserConfig(chunk_token_count=64, layout_recognize=True)
    assert translate_parser_config(config) == {"chunk_token_num": 64, "layout_recognize": "DeepDOC"}
    chunk = Chunk.model_validate({"position": [[1, 2, 3, 4, 5]]})
    assert chunk.position == chunk.positions == [[1, 2, 3, 4, 5]]
