"""Bad arguments fail before any request with a TypeError/ValueError naming the argument."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragflow_integrations import AsyncRAGFlow, Chunk, DataSet, RAGFlow

from .fakes import FakeServer, ok, sync_client

WRONG = [b"bytes", object(), float("nan"), {1: "x"}]


def client() -> tuple[RAGFlow, FakeServer]:
    server = FakeServer()
    return sync_client(server), server


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda c: c.create_dataset("kb", description=b"x"), "description"),
        (lambda c: c.create_dataset("kb", parser_config=7), "parser_config"),
        (lambda c: c.list_datasets(page="2"), "page"),
        (lambda c: c.list_datasets(page_size=True), "page_size"),
        (lambda c: c.list_datasets(name=b"kb"), "name"),
        (lambda c: c.list_datasets(name="\ud800"), "name"),
        (lambda c: c.retrieve("q", dataset_ids="d"), "dataset_ids"),
        (lambda c: c.retrieve("q", dataset_ids=[1]), "dataset_ids"),
        (
            lambda c: c.retrieve("q", ["d"], similarity_threshold=float("inf")),
            "similarity_threshold",
        ),
        (lambda c: c.retrieve("q", ["d"], offset="1"), "offset"),
        (lambda c: c.retrieve("q", ["d"], limit=2.5), "limit"),
        (lambda c: c.retrieve_page("q", ["d"], page_size=500), "page_size"),
        (lambda c: c.get_dataset(12), "id"),
        (lambda c: c.get_chat(None), "chat_id"),
        (lambda c: c.create_chat("c", dataset_ids=5), "dataset_ids"),
        (lambda c: c.create_chat("c", llm=3), "llm"),
        (lambda c: c.chat_completion("c", 42), "messages"),
        (lambda c: c.chat_completion("c", []), "messages"),
        (lambda c: c.agent_completion("a", ["q"]), "question"),
        (lambda c: c.delete_datasets(ids=7), "ids"),
        (lambda c: c.delete_chats(ids=["a"], delete_all=True), "delete_all"),
        (
            lambda c: c.openai_chat_completion("c", "q", metadata_condition=[1]),
            "metadata_condition",
        ),
    ],
)
def test_client_arguments(call: Callable[[RAGFlow], Any], name: str) -> None:
    rag, server = client()
    with pytest.raises((TypeError, ValueError)) as info:
        call(rag)
    assert name in str(info.value)
    assert server.requests == [], "a request was sent before the arguments were checked"


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda d: d.upload_documents({"display_name": "a"}), "document_list"),
        (lambda d: d.upload_documents(["a.txt"]), "document_list"),
        (lambda d: d.upload_documents([{"display_name": 3, "blob": b""}]), "display_name"),
        (lambda d: d.upload_documents([{"display_name": "a", "blob": 3}]), "blob"),
        (lambda d: d.upload_documents([{"display_name": "a", "blob": "\ud800"}]), "blob"),
        (
            lambda d: d.upload_documents([{"display_name": "a", "blob": b"", "meta_fields": [1]}]),
            "meta_fields",
        ),
        (lambda d: d.update(object()), "update_message"),
        (lambda d: d.update({"description": object()}), "description"),
        (lambda d: d.list_documents(keywords=b"x"), "keywords"),
        (lambda d: d.parse_documents("doc1"), "document_ids"),
        (lambda d: d.delete_documents(), "delete_all"),
    ],
)
def test_object_arguments(call: Callable[[DataSet], Any], name: str) -> None:
    rag, server = client()
    with pytest.raises((TypeError, ValueError)) as info:
        call(rag.wrap("dataset", {"id": "d"}))
    assert name in str(info.value)
    assert server.requests == []


def test_ids_in_paths_are_escaped() -> None:
    rag, server = client()
    server.on("GET", "/api/v1/datasets/.*", ok({"id": "x"}))
    rag.get_dataset("../chats?x=1#y")
    assert server.calls()[-1].path == "/api/v1/datasets/..%2Fchats%3Fx%3D1%23y"


@given(
    payload=st.dictionaries(
        st.sampled_from(
            ["id", "content", "similarity", "positions", "available", "dataset_id", "create_time"]
        ),
        st.one_of(
            st.none(),
            st.integers(),
            st.floats(),
            st.text(),
            st.lists(st.integers(), max_size=2),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        ),
    )
)
def test_models_tolerate_fields_of_unexpected_types(payload: dict[str, Any]) -> None:
    chunk = Chunk.model_validate(payload)
    assert isinstance(chunk.content, str) and isinstance(chunk.positions, list)
    assert isinstance(chunk.available, bool)


@pytest.mark.parametrize("cls", [RAGFlow, AsyncRAGFlow])
def test_connection_options_are_checked_when_the_client_is_built(cls: Any, tmp_path: Any) -> None:
    base = {"api_key": "k", "base_url": "http://127.0.0.1:9"}
    for bad in (-1, 0, "abc", float("nan"), True):
        with pytest.raises(ValueError, match="timeout must be a number of seconds"):
            cls(**base, timeout=bad)
        with pytest.raises(ValueError, match="connect_timeout must be"):
            cls(**base, connect_timeout=bad)
    for bad_retries in (-1, 1.5, True):
        with pytest.raises(ValueError, match="max_retries must be an int"):
            cls(**base, max_retries=bad_retries)
    missing = str(tmp_path / "no-such-ca.pem")
    with pytest.raises(ValueError, match="no such CA bundle") as info:
        cls(**base, verify=missing)
    assert missing in str(info.value)
    with pytest.raises(TypeError, match="verify must be"):
        cls(**base, verify=1)
    import certifi

    client = cls(**base, timeout=5, verify=certifi.where())
    assert client.timeout == 5
    assert cls(**base, verify=str(tmp_path)).base_url.endswith("/api/v1")  # a directory of CAs
    with pytest.raises(ValueError, match="timeout must be"):
        client.with_options(timeout=-2)
