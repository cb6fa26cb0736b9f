"""LangChain adapters: constructor options (TLS ``verify``, misspelled options) and the
capabilities RAGFlow lacks (tool calling, structured output, vector and MMR search).

The TLS tests run against the local server over HTTPS with a throwaway CA (no cassette).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ragflow_integrations import APIConnectionError, RAGFlow
from ragflow_integrations.langchain import (
    ChatRAGFlow,
    RAGFlowLoader,
    RAGFlowRetriever,
    RAGFlowSearchTool,
    RAGFlowToolkit,
    RAGFlowVectorStore,
)
from ragflow_integrations.testing import LocalRAGFlowServer, make_test_certificates

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

TEXT = "Green tea wants water at about 80 degrees."
OFFLINE = {"api_key": "unit-test-key", "base_url": "https://ragflow.invalid:9380"}


@dataclass
class TLSSite:
    server: LocalRAGFlowServer
    ca: str
    dataset_id: str
    chat_id: str

    @property
    def connection(self) -> dict[str, Any]:
        return {"api_key": self.server.api_key, "base_url": self.server.base_url, "max_retries": 0}


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSSite]:
    certs = make_test_certificates(tmp_path_factory.mktemp("tls"))
    server = LocalRAGFlowServer(ssl_certfile=str(certs.cert_pem), ssl_keyfile=str(certs.key_pem))
    with server:
        with RAGFlow(server.api_key, server.base_url, verify=str(certs.ca_pem)) as client:
            dataset = client.create_dataset(name="tls")
            uploaded = dataset.upload_documents(
                [{"display_name": "tea.txt", "blob": TEXT.encode()}]
            )
            dataset.parse_documents([d.id for d in uploaded], timeout=60, poll_interval=0.05)
            chat = client.create_chat("Tea", dataset_ids=[dataset.id])
        yield TLSSite(server, str(certs.ca_pem), dataset.id, chat.id)


# ------------------------------------------------------------------------------ verify


@pytest.mark.live
def test_retriever_verify_reaches_the_client_and_a_change_rebuilds_it(tls_site: TLSSite) -> None:
    retriever = RAGFlowRetriever(dataset_ids=[tls_site.dataset_id], **tls_site.connection)
    assert retriever.verify is True
    with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
        retriever.invoke("green tea")  # the test CA is not trusted by default

    retriever.verify = tls_site.ca  # a connection field: the clients are rebuilt
    assert retriever._sync_client._options.verify == tls_site.ca
    assert [d.page_content for d in retriever.invoke("green tea")] == [TEXT]

    insecure = retriever.model_copy(update={"verify": False})
    assert insecure._sync_client._options.verify is False
    assert [d.page_content for d in insecure.invoke("green tea")] == [TEXT]
    docs = asyncio.run(insecure.ainvoke("green tea"))
    assert [d.page_content for d in docs] == [TEXT]


@pytest.mark.live
def test_chat_model_and_tools_use_verify(tls_site: TLSSite) -> None:
    model = ChatRAGFlow(chat_id=tls_site.chat_id, verify=False, **tls_site.connection)
    assert model._sync_client._options.verify is False
    assert model.invoke("green tea?").content

    tool = RAGFlowSearchTool(
        dataset_ids=[tls_site.dataset_id], verify=tls_site.ca, **tls_site.connection
    )
    assert TEXT in str(tool.invoke({"query": "green tea"}))

    toolkit = RAGFlowToolkit(
        dataset_ids=[tls_site.dataset_id],
        chat_id=tls_site.chat_id,
        verify=tls_site.ca,
        **tls_site.connection,
    )
    search, _, ask = toolkit.get_tools()
    assert isinstance(search, RAGFlowSearchTool) and search.verify == tls_site.ca
    assert TEXT in str(search.invoke({"query": "green tea"}))
    assert ask.invoke({"question": "green tea?"})


@pytest.mark.live
def test_loader_and_vector_store_accept_verify(tls_site: TLSSite) -> None:
    loader = RAGFlowLoader(tls_site.dataset_id, verify=False, **tls_site.connection)
    assert loader._clients.sync._options.verify is False
    assert [d.page_content for d in loader.load()] == [TEXT]
    assert [d.page_content for d in asyncio.run(loader.aload())] == [TEXT]
    with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
        RAGFlowLoader(tls_site.dataset_id, **tls_site.connection).load()

    store = RAGFlowVectorStore(tls_site.dataset_id, verify=tls_site.ca, **tls_site.connection)
    assert [d.page_content for d in store.similarity_search("green tea", k=1)] == [TEXT]
    found = asyncio.run(store.asimilarity_search("green tea", k=1))
    assert [d.page_content for d in found] == [TEXT]


def test_verify_takes_a_ca_bundle_path_offline(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    retriever = RAGFlowRetriever(dataset_ids=["d"], verify=str(bundle), **OFFLINE)
    assert retriever._sync_client._options.verify == str(bundle)
    assert "verify" in RAGFlowRetriever.model_fields
    assert ChatRAGFlow(chat_id="c", **OFFLINE)._sync_client._options.verify is True


# ------------------------------------------------------------------------- unknown options


@pytest.mark.parametrize(
    ("build", "option"),
    [
        (
            lambda: RAGFlowRetriever(dataset_ids=["d"], similarity_top_k=1, **OFFLINE),
            "similarity_top_k",
        ),
        (lambda: ChatRAGFlow(chat_id="c", temprature=0.1, **OFFLINE), "temprature"),
        (lambda: RAGFlowSearchTool(dataset_ids=["d"], top_n=3, **OFFLINE), "top_n"),
        (lambda: RAGFlowToolkit(dataset_ids=["d"], k=3, **OFFLINE), "k"),
    ],
)
def test_unknown_options_are_errors_naming_them(build: Any, option: str) -> None:
    with pytest.raises(ValidationError, match=f"(?s){option}.*Extra inputs are not permitted"):
        build()


def test_langchain_machinery_still_works_with_forbidden_extras() -> None:
    from langchain_core.runnables import ConfigurableField

    model = ChatRAGFlow(chat_id="c", tags=["t"], metadata={"m": 1}, callbacks=None, **OFFLINE)
    assert (model.tags, model.metadata) == (["t"], {"m": 1})
    assert model.model_copy(update={"temperature": 0.2}).temperature == 0.2
    assert ChatRAGFlow(chat_id="c", model="m", **OFFLINE).model_name == "m"
    configurable = model.configurable_fields(temperature=ConfigurableField(id="t"))
    assert configurable._prepare({"configurable": {"t": 0.5}})[0].temperature == 0.5  # type: ignore[attr-defined]
    assert model.bind(stop=["x"]).with_config(tags=["u"]).kwargs == {"stop": ["x"]}  # type: ignore[attr-defined]
    retriever = RAGFlowRetriever(dataset_ids=["d"], tags=["t"], **OFFLINE)
    assert retriever.with_config(tags=["u"]).config["tags"] == ["u"]  # type: ignore[attr-defined]


# --------------------------------------------------------------- missing capabilities


def test_unsupported_chat_features_say_why() -> None:
    model = ChatRAGFlow(chat_id="c", **OFFLINE)
    with pytest.raises(
        NotImplementedError, match=r"cannot call caller-defined tools.*RAGFlowToolkit"
    ):
        model.bind_tools([])
    with pytest.raises(NotImplementedError, match="cannot return structured output"):
        model.with_structured_output({"title": "x", "type": "object", "properties": {}})


def test_unsupported_vector_searches_say_why() -> None:
    store = RAGFlowVectorStore("d", **OFFLINE)
    by_vector = "embeds and searches on the server.*similarity_search with a query text"
    mmr = "no max-marginal-relevance search.*similarity_search"
    with pytest.raises(NotImplementedError, match=by_vector):
        store.similarity_search_by_vector([0.1, 0.2])
    with pytest.raises(NotImplementedError, match=by_vector):
        asyncio.run(store.asimilarity_search_by_vector([0.1, 0.2]))
    with pytest.raises(NotImplementedError, match=mmr):
        store.max_marginal_relevance_search("tea")
    with pytest.raises(NotImplementedError, match=mmr):
        asyncio.run(store.amax_marginal_relevance_search("tea"))
    with pytest.raises(NotImplementedError, match=mmr):
        store.as_retriever(search_type="mmr").invoke("tea")
