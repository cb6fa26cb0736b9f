"""Connection options (timeout, retries, TLS), unknown keywords, and async clients per loop."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core import Document
from llama_index_corpus import build_corpus

from ragflow_integrations import AsyncRAGFlow, NotFoundError, RAGFlow
from ragflow_integrations.llama_index import (
    RAGFlowChatEngine,
    RAGFlowIndex,
    RAGFlowLLM,
    RAGFlowReader,
    RAGFlowRetriever,
    RAGFlowToolSpec,
)
from ragflow_integrations.testing import LocalRAGFlowServer

OPTIONS: dict[str, Any] = {"timeout": 5, "max_retries": 0, "verify": False}
CREDENTIALS: dict[str, Any] = {"api_key": "ragflow-test", "base_url": "http://127.0.0.1:9"}

# Every component that builds its own clients without a server round trip at construction.
BUILDERS: dict[str, Callable[..., Any]] = {
    "RAGFlowReader": lambda **kw: RAGFlowReader("ds", **kw),
    "RAGFlowLLM": lambda **kw: RAGFlowLLM("chat", **kw),
    "RAGFlowRetriever": lambda **kw: RAGFlowRetriever(["ds"], **kw),
    "RAGFlowChatEngine": lambda **kw: RAGFlowChatEngine("chat", **kw),
    "RAGFlowToolSpec": lambda **kw: RAGFlowToolSpec(["ds"], **kw),
}


def _options_of(client: RAGFlow | AsyncRAGFlow) -> tuple[float, int, bool | str]:
    return client.timeout, client.max_retries, client._options.verify


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_connection_options_reach_the_sync_and_async_clients(name: str) -> None:
    component = BUILDERS[name](**CREDENTIALS, **OPTIONS)

    async def async_client() -> AsyncRAGFlow:
        return component._clients.async_

    assert _options_of(component._clients.sync) == (5.0, 0, False)
    assert _options_of(asyncio.run(async_client())) == (5.0, 0, False)


def test_verify_takes_a_ca_bundle_path() -> None:
    reader = RAGFlowReader("ds", **CREDENTIALS, verify="/etc/ssl/certs/ca-certificates.crt")
    assert reader._clients.sync._options.verify == "/etc/ssl/certs/ca-certificates.crt"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_unknown_keywords_raise_type_error_naming_them(name: str) -> None:
    with pytest.raises(TypeError, match="only_parsd"):
        BUILDERS[name](**CREDENTIALS, only_parsd=False)


def test_index_rejects_unknown_keywords() -> None:
    with pytest.raises(TypeError, match="tiemout"):
        RAGFlowIndex("ds", **CREDENTIALS, tiemout=5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="tiemout"):
        RAGFlowIndex.from_documents([], dataset_id="ds", **CREDENTIALS, tiemout=5)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_options_with_a_passed_client_say_where_they_belong(name: str) -> None:
    with RAGFlow(**CREDENTIALS) as client, pytest.raises(ValueError, match="timeout"):
        BUILDERS[name](client=client, timeout=5)


def test_pydantic_components_still_copy_and_pickle_with_options() -> None:
    import copy
    import pickle

    llm = RAGFlowLLM("chat", **CREDENTIALS, **OPTIONS, temperature=0.2)
    reader = RAGFlowReader("ds", **CREDENTIALS, **OPTIONS, mode="chunks")

    copied = llm.model_copy(update={"temperature": 0.5})
    assert copied.temperature == 0.5 and _options_of(copied._clients.sync) == (5.0, 0, False)
    for twin in (pickle.loads(pickle.dumps(llm)), copy.deepcopy(llm)):
        assert twin.temperature == 0.2 and _options_of(twin._clients.sync) == (5.0, 0, False)
    restored = pickle.loads(pickle.dumps(reader))
    assert restored.mode == "chunks" and _options_of(restored._clients.sync) == (5.0, 0, False)
    assert RAGFlowReader.from_dict(reader.to_dict(), **CREDENTIALS).mode == "chunks"


def _own(server: LocalRAGFlowServer) -> dict[str, Any]:
    return {"api_key": server.api_key, "base_url": server.base_url}


def _resource_warnings(run: Callable[[], None]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        run()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.live
def test_async_calls_in_repeated_event_loops_leave_no_socket_open() -> None:
    with LocalRAGFlowServer() as server:
        own = _own(server)
        with RAGFlow(**own) as client:
            corpus = build_corpus(client, "li-leaks", poll_interval=0.05)
            chat = client.create_chat(name="li-leaks", dataset_ids=[corpus.dataset_id])
            retriever = RAGFlowRetriever([corpus.dataset_id], **own)
            llm = RAGFlowLLM(chat.id, **own)
            shared = RAGFlowRetriever([corpus.dataset_id], client=client)
            index = RAGFlowIndex(corpus.dataset_id, **own)
            results: list[Any] = []

            def run() -> None:
                for _ in range(3):
                    results.append(asyncio.run(retriever.aretrieve("Zephyr-9 rotor speed")))
                    results.append(asyncio.run(llm.acomplete("How fast is the Zephyr-9?")))
                    results.append(asyncio.run(shared.aretrieve("Zephyr-9 rotor speed")))
                    results.append(asyncio.run(index.as_retriever().aretrieve("Zephyr-9")))

            leaks = _resource_warnings(run)

    assert leaks == []
    assert len(results) == 12
    assert all(results[i] for i in range(0, 12, 4))  # retriever found nodes every time
    assert all("4200" in results[i].text for i in range(1, 12, 4))


@pytest.mark.live
def test_missing_dataset_name_hints_at_create_if_missing() -> None:
    with LocalRAGFlowServer() as server, RAGFlow(server.api_key, server.base_url) as client:
        with pytest.raises(NotFoundError) as opened:
            RAGFlowIndex(dataset_name="li-no-such-dataset", client=client)
        with pytest.raises(NotFoundError) as built:
            RAGFlowIndex.from_documents(
                [Document(text="x")], dataset_name="li-no-such-dataset", client=client
            )
        index = RAGFlowIndex(
            dataset_name="li-options", create_if_missing=True, **OPTIONS, **_own(server)
        )

    for error in (opened.value, built.value):
        assert type(error) is NotFoundError
        assert error.message.endswith("; pass create_if_missing=True to create it")
        cause = error.__cause__
        assert isinstance(cause, NotFoundError)
        assert error.message.startswith(cause.message)
        assert error.context() == cause.context()
    assert _options_of(index.client) == (5.0, 0, False)
