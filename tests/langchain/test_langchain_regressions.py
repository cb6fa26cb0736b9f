"""LangChain adapters: regressions found in review, run against the local server (no cassette).

Each test pins one fixed behaviour: per-call kwargs, copies and pickles, event-loop reuse, early
stream closing, the loader's combined filters, the vector store's ids/k/empty texts, the tools'
error messages.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import logging
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import psutil
import pytest
from adapter_fixtures import (
    LATENCY,
    InFlight,
    SlowSite,
    connection,
    counting_async_client,
    counting_client,
    many_datasets,
    slow_site_running,
)
from agent_canvas import canvas
from langchain_core.documents import Document
from langchain_core.messages import ToolMessage
from pydantic import SecretStr

from ragflow_integrations import Message, RAGFlow
from ragflow_integrations._chunk_prefetch import ASYNC_WINDOW
from ragflow_integrations.langchain import (
    ChatRAGFlow,
    RAGFlowLoader,
    RAGFlowRetriever,
    RAGFlowSearchTool,
    RAGFlowToolkit,
    RAGFlowVectorStore,
)
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

TEXTS = {
    "coffee.txt": ("Brew filter coffee with water between 90 and 96 degrees.", "coffee"),
    "tea.txt": ("Green tea wants water at about 80 degrees; black tea takes boiling water.", "tea"),
    "billing.txt": ("Refunds are issued within 14 days of delivery.", "billing"),
}


@dataclass
class Site:
    server: LocalRAGFlowServer
    client: RAGFlow
    dataset_id: str
    document_ids: dict[str, str]
    chat_id: str
    agent_id: str

    @property
    def connection(self) -> dict[str, Any]:
        return {"api_key": self.server.api_key, "base_url": self.server.base_url}

    @property
    def port(self) -> int:
        return int(urlparse(self.server.base_url).port or 0)


def _populate(server: LocalRAGFlowServer) -> Site:
    client = RAGFlow(api_key=server.api_key, base_url=server.base_url)
    dataset = client.create_dataset(name="regressions")
    uploaded = dataset.upload_documents(
        [
            {"display_name": name, "blob": text.encode(), "meta_fields": {"topic": topic}}
            for name, (text, topic) in TEXTS.items()
        ]
    )
    dataset.parse_documents([d.id for d in uploaded], timeout=60, poll_interval=0.05)
    chat = client.create_chat("Barista", dataset_ids=[dataset.id])
    agent = client.create_agent("helper", canvas(dataset.id))
    return Site(server, client, dataset.id, {d.name: d.id for d in uploaded}, chat.id, agent.id)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with LocalRAGFlowServer() as server:
        populated = _populate(server)
        yield populated
        populated.client.close()


def _client_connections(port: int) -> int:
    """Open TCP connections from this process to the server's port (client side only)."""
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    )


def _topic(topic: str) -> dict[str, Any]:
    return {
        "logic": "and",
        "conditions": [{"name": "topic", "comparison_operator": "=", "value": topic}],
    }


# ------------------------------------------------------------------------------ loader


async def test_loader_applies_metadata_condition_with_document_ids(site: Site) -> None:
    coffee, tea = site.document_ids["coffee.txt"], site.document_ids["tea.txt"]
    loader = RAGFlowLoader(
        site.dataset_id,
        document_ids=[coffee, tea],
        metadata_condition=_topic("tea"),
        mode="documents",
        **site.connection,
    )
    assert [d.id for d in loader.load()] == [tea]
    assert [d.id async for d in loader.alazy_load()] == [tea]
    # the id order is kept when several match
    both = RAGFlowLoader(
        site.dataset_id,
        document_ids=[tea, coffee],
        metadata_condition={
            "logic": "or",
            "conditions": [*_topic("tea")["conditions"], *_topic("coffee")["conditions"]],
        },
        mode="documents",
        **site.connection,
    )
    assert [d.id for d in both.load()] == [tea, coffee]
    assert [d.id for d in await both.aload()] == [tea, coffee]


# -------------------------------------------------------------------------- chat model


async def _stream_one_then_close(model: ChatRAGFlow) -> str:
    stream = model.astream("green tea temperature?")
    first = await anext(stream)
    await stream.aclose()
    return str(first.content)


def test_astream_closed_early_in_asyncio_run_cleans_up(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    agent = ChatRAGFlow(agent_id=site.agent_id, **site.connection)
    chat = ChatRAGFlow(chat_id=site.chat_id, **site.connection)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert asyncio.run(_stream_one_then_close(agent))
            assert asyncio.run(_stream_one_then_close(chat))
    assert site.client.get_agent(site.agent_id).list_sessions() == []
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == []


def test_stateless_agent_reply_reports_no_deleted_session(site: Site) -> None:
    agent = ChatRAGFlow(agent_id=site.agent_id, **site.connection)
    reply = agent.invoke("green tea?")
    assert reply.content
    assert "session_id" not in reply.response_metadata
    chunks = list(agent.stream("green tea?"))
    assert all("session_id" not in c.response_metadata for c in chunks)
    areply = asyncio.run(agent.ainvoke("green tea?"))
    assert "session_id" not in areply.response_metadata
    assert site.client.get_agent(site.agent_id).list_sessions() == []

    session = site.client.get_agent(site.agent_id).create_session()
    try:
        kept = ChatRAGFlow(agent_id=site.agent_id, session_id=session.id, **site.connection)
        assert kept.invoke("green tea?").response_metadata["session_id"] == session.id
    finally:
        site.client.get_agent(site.agent_id).delete_sessions(ids=[session.id])


def _recording_model(monkeypatch: pytest.MonkeyPatch, **fields: Any) -> tuple[ChatRAGFlow, list]:
    client = RAGFlow(api_key="unit-test-key", base_url="http://ragflow.test:9380")
    calls: list[tuple[str, Any, dict[str, Any]]] = []

    def chat_completion(chat_id: str, messages: Any, **kwargs: Any) -> Any:
        calls.append(("native", messages, kwargs))
        return Message(content="ok", id="m-1")

    def openai_chat_completion(chat_id: str, messages: Any, **kwargs: Any) -> Any:
        calls.append(("openai", messages, kwargs))
        return {"id": "m-1", "choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}

    monkeypatch.setattr(client, "chat_completion", chat_completion)
    monkeypatch.setattr(client, "openai_chat_completion", openai_chat_completion)
    return ChatRAGFlow(chat_id="chat-1", client=client, **fields), calls


def test_per_call_model_and_session_work_like_the_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    openai, calls = _recording_model(monkeypatch, api="openai")
    assert openai.invoke("tea?", model="other-llm").content == "ok"
    assert openai.bind(model="bound-llm").invoke("tea?").content == "ok"
    assert [c[2]["model"] for c in calls] == ["other-llm", "bound-llm"]
    assert all("llm_id" not in c[2] for c in calls)
    with pytest.raises(TypeError, match='session_id= works with api="native" only'):
        openai.invoke("tea?", session_id="s-1")

    native, calls = _recording_model(monkeypatch)
    reply = native.invoke("tea?", model="other-llm")
    native.bind(model="bound-llm").invoke("tea?")
    assert [c[2]["llm_id"] for c in calls] == ["other-llm", "bound-llm"]
    assert all("model" not in c[2] for c in calls)
    assert reply.response_metadata["model_name"] == "other-llm"

    calls.clear()
    history = [("human", "first"), ("ai", "answer"), ("human", "second")]
    reply = native.invoke(history, session_id="s-9")
    assert calls[0][2]["session_id"] == "s-9"
    assert calls[0][1] == [{"role": "user", "content": "second"}]  # server memory: newest only
    assert reply.response_metadata["session_id"] == "s-9"

    with pytest.raises(TypeError, match=r"stream= per call: use \.stream\(\)"):
        native.invoke("tea?", stream=True)
    with pytest.raises(TypeError, match="reference= per call"):
        openai.invoke("tea?", reference=False)


# ------------------------------------------------------------------ clients and copies


def test_connection_changes_after_use_rebuild_the_clients(site: Site) -> None:
    retriever = RAGFlowRetriever(dataset_ids=[site.dataset_id], **site.connection)
    assert retriever.invoke("green tea")
    with LocalRAGFlowServer() as other_server:
        other = RAGFlow(api_key=other_server.api_key, base_url=other_server.base_url)
        dataset = other.create_dataset(name="elsewhere")
        uploaded = dataset.upload_documents([{"display_name": "x.txt", "blob": b"Oolong tea."}])
        dataset.parse_documents([d.id for d in uploaded], timeout=60, poll_interval=0.05)
        update = {
            "base_url": other_server.base_url,
            "api_key": SecretStr(other_server.api_key),
            "dataset_ids": [dataset.id],
        }
        moved = retriever.model_copy(update=update)
        assert [d.page_content for d in moved.invoke("oolong tea")] == ["Oolong tea."]
        assert retriever.invoke("green tea")  # the original keeps its server

        retriever.base_url = other_server.base_url
        retriever.api_key = SecretStr(other_server.api_key)
        retriever.dataset_ids = [dataset.id]
        assert retriever._sync_client.base_url == other.base_url
        assert [d.page_content for d in retriever.invoke("oolong tea")] == ["Oolong tea."]
        other.close()


def _roundtrips(component: Any) -> list[Any]:
    return [pickle.loads(pickle.dumps(component)), copy.deepcopy(component)]


def test_used_components_pickle_and_deepcopy(site: Site) -> None:
    retriever = RAGFlowRetriever(dataset_ids=[site.dataset_id], k=2, **site.connection)
    model = ChatRAGFlow(chat_id=site.chat_id, **site.connection)
    loader = RAGFlowLoader(site.dataset_id, mode="documents", **site.connection)
    store = RAGFlowVectorStore(site.dataset_id, show_progress=False, **site.connection)
    expected_docs = [d.id for d in retriever.invoke("green tea")]
    assert asyncio.run(retriever.ainvoke("green tea"))
    assert model.invoke("green tea?").content
    expected_loaded = [d.id for d in loader.load()]
    assert store.similarity_search("green tea", k=1)

    for copied in _roundtrips(retriever):
        assert isinstance(copied.api_key, SecretStr)
        assert copied.api_key.get_secret_value() == site.server.api_key
        assert [d.id for d in copied.invoke("green tea")] == expected_docs
        assert [d.id for d in asyncio.run(copied.ainvoke("green tea"))] == expected_docs
    for copied in _roundtrips(model):
        assert isinstance(copied.api_key, SecretStr)
        assert copied.invoke("green tea?").content
    for copied in _roundtrips(loader):
        assert [d.id for d in copied.load()] == expected_loaded
    for copied in _roundtrips(store):
        assert len(copied.similarity_search("green tea", k=1)) == 1
    assert retriever.invoke("green tea")  # the original still works

    given = RAGFlowRetriever(dataset_ids=[site.dataset_id], client=site.client)
    assert copy.deepcopy(given).client is site.client  # a passed client is shared
    with pytest.raises(TypeError, match="built with client= or async_client= cannot be pickled"):
        pickle.dumps(given)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(RAGFlowLoader(site.dataset_id, client=site.client))


def test_async_reuse_across_event_loops_leaves_no_connections(site: Site) -> None:
    retriever = RAGFlowRetriever(dataset_ids=[site.dataset_id], **site.connection)
    before = _client_connections(site.port)
    gc.disable()  # connections must be closed when their loop ends, not when collected
    try:
        for _ in range(30):
            assert asyncio.run(retriever.ainvoke("green tea"))
        after = _client_connections(site.port)
    finally:
        gc.enable()
    assert after - before <= 1, (before, after)


# ------------------------------------------------------------------------ vector store


def test_vector_store_search_kwargs_k_applies_when_the_call_gives_none(site: Site) -> None:
    relaxed = {"similarity_threshold": 0.0}
    store = RAGFlowVectorStore(
        site.dataset_id, search_kwargs={"k": 1, **relaxed}, **site.connection
    )
    assert len(store.similarity_search("water")) == 1
    assert len(asyncio.run(store.asimilarity_search("water"))) == 1
    assert len(store.as_retriever().invoke("water")) == 1
    assert len(store.similarity_search("water", k=3)) == 3  # the call's k wins
    default = RAGFlowVectorStore(site.dataset_id, search_kwargs=relaxed, **site.connection)
    assert len(default.similarity_search_with_score("water")) == 3  # all 3 (default k is 4)


def test_vector_store_ids_repeated_empty_texts_and_from_documents(site: Site) -> None:
    dataset = site.client.create_dataset(name="store_regressions")
    store = RAGFlowVectorStore(
        dataset.id, show_progress=False, poll_interval=0.05, **site.connection
    )
    ids = store.add_documents(
        [Document(page_content="first"), Document(page_content="second")], ids=["dup", "dup"]
    )
    assert ids == ["dup", "dup"]
    stored = site.client.get_dataset(id=dataset.id).list_documents()
    assert [(d.name, d.meta_fields["ragflow_langchain_id"]) for d in stored] == [("dup.txt", "dup")]
    assert set(stored[0].meta_fields) == {"ragflow_langchain_id", "ragflow_written_at"}
    assert [d.page_content for d in store.get_by_ids(["dup"])] == ["second"]

    with pytest.raises(ValueError, match=r"\['empty'\] have an empty page_content"):
        store.add_documents(
            [Document(page_content="kept?"), Document(page_content="")], ids=["ok", "empty"]
        )
    with pytest.raises(ValueError, match="empty page_content"):
        asyncio.run(store.aadd_documents([Document(page_content="", id="empty")]))
    assert store.get_by_ids(["ok", "empty"]) == []  # nothing of the call was uploaded

    made = RAGFlowVectorStore.from_documents(
        [Document(page_content="Jasmine tea.", id="jasmine")],
        dataset_id=dataset.id,
        show_progress=False,
        poll_interval=0.05,
        **site.connection,
    )
    amade = asyncio.run(
        RAGFlowVectorStore.afrom_documents(
            [Document(page_content="Mint tea.", id="mint")],
            dataset_id=dataset.id,
            show_progress=False,
            poll_interval=0.05,
            **site.connection,
        )
    )
    got = made.get_by_ids(["jasmine", "mint"])
    assert [(d.id, d.page_content) for d in got] == [
        ("jasmine", "Jasmine tea."),
        ("mint", "Mint tea."),
    ]
    assert amade.dataset_id == dataset.id


# ------------------------------------------------------------------------------- tools


def _call(tool: Any, **args: Any) -> ToolMessage:
    message = tool.invoke({"name": tool.name, "args": args, "id": "call-1", "type": "tool_call"})
    assert isinstance(message, ToolMessage)
    return message


def test_tools_report_bad_arguments_and_settings_to_the_model(site: Site) -> None:
    search = RAGFlowSearchTool(dataset_ids=[site.dataset_id], **site.connection)
    message = _call(search, query="tea", k=100)
    assert message.status == "error"
    assert message.content == "Invalid arguments: k: Input should be less than or equal to 50"
    amessage = asyncio.run(
        search.ainvoke(
            {"name": search.name, "args": {"query": "tea", "k": 0}, "id": "2", "type": "tool_call"}
        )
    )
    assert amessage.status == "error" and "k: Input should be greater than or equal to 1" in str(
        amessage.content
    )

    with LocalRAGFlowServer() as empty_server:
        toolkit = RAGFlowToolkit(api_key=empty_server.api_key, base_url=empty_server.base_url)
        empty_search = toolkit.get_tools()[0]
        message = _call(empty_search, query="tea")
        assert message.status == "error"
        assert message.content == "dataset_ids is empty: pass the ids of the datasets to search"

    toolkit = RAGFlowToolkit(
        dataset_ids=[site.dataset_id],
        search_kwargs={"dataset_ids": [site.dataset_id], "k": 1},
        **site.connection,
    )
    tool = toolkit.get_tools()[0]
    assert (tool.dataset_ids, tool.k) == ([site.dataset_id], 1)
    only_kwargs = RAGFlowToolkit(
        search_kwargs={"dataset_ids": [site.dataset_id]}, **site.connection
    )
    assert only_kwargs.dataset_ids == [site.dataset_id]
    with pytest.raises(ValueError, match=r"differ: pass the datasets once"):
        RAGFlowToolkit(dataset_ids=[site.dataset_id], search_kwargs={"dataset_ids": ["other"]})
    with pytest.raises(
        ValueError, match=r"search_kwargs takes search parameters only, not \['api_key'\]"
    ):
        RAGFlowToolkit(dataset_ids=[site.dataset_id], search_kwargs={"api_key": "x"})


def test_socket_helper_sees_sync_connections() -> None:
    """The connection counter used above does count this process's open connections (on a
    server of its own: other clients' pooled connections to a shared one come and go)."""
    with LocalRAGFlowServer() as server:
        port = int(urlparse(server.base_url).port or 0)
        client = RAGFlow(**connection(server))
        assert _client_connections(port) == 0
        client.list_datasets()
        assert _client_connections(port) == 1
        client.close()
        assert _client_connections(port) == 0


def test_toolkit_descriptions_stay_short_over_150_datasets() -> None:
    with LocalRAGFlowServer() as server, RAGFlow(**connection(server)) as client:
        few = many_datasets(client, 5)
        toolkit = RAGFlowToolkit(dataset_ids=few, **connection(server))
        search, listing = toolkit.get_tools()
        assert all(dataset_id in search.description for dataset_id in few)
        assert "Knowledge base 4: manuals, release notes" in search.description
        assert len(search.description) <= 2000 and "more datasets" not in search.description

        ids = few + many_datasets(client, 145)
        search, listing = RAGFlowToolkit(**connection(server)).get_tools()
    assert sorted(search.dataset_ids) == sorted(ids)  # every dataset is still searched
    assert len(search.description) <= 2000, len(search.description)
    named = [dataset_id for dataset_id in ids if dataset_id in search.description]
    assert 20 <= len(named) < 150
    assert search.description.endswith(
        f"… and {150 - len(named)} more datasets (call ragflow_list_datasets to see them all)"
    )
    catalogue = listing.invoke({})
    assert all(dataset_id in catalogue for dataset_id in ids)
    assert catalogue.count("customers' frequent questions.") == 300  # full descriptions there


# ------------------------------------------------------------------- loader concurrency


@pytest.fixture(scope="module")
def slow_site() -> Iterator[SlowSite]:
    with slow_site_running() as site:
        yield site


@pytest.mark.parametrize("mode", ["documents", "chunks"])
async def test_async_loader_overlaps_chunk_requests_in_order_and_bounded(
    slow_site: SlowSite, mode: str
) -> None:
    server, dataset_id, listed = slow_site
    sync_count, async_count = InFlight("/chunks"), InFlight("/chunks")
    expected = listed
    if mode == "chunks":
        with RAGFlow(**connection(server)) as plain:
            dataset = plain.get_dataset(id=dataset_id)
            expected = [c.id for i in listed for c in dataset.list_documents(id=i)[0].iter_chunks()]
    with counting_client(sync_count, **connection(server)) as client:
        loaded = RAGFlowLoader(dataset_id, mode=mode, client=client).load()
    aclient, http = counting_async_client(async_count, **connection(server))
    try:
        aloaded = [d async for d in RAGFlowLoader(dataset_id, mode=mode, async_client=aclient)
                   .alazy_load()]  # fmt: skip
    finally:
        await http.aclose()
    assert [d.id for d in loaded] == [d.id for d in aloaded] == expected
    assert [d.page_content for d in loaded] == [d.page_content for d in aloaded]
    if mode == "documents":
        long = next(d for d in loaded if d.metadata["ragflow_document_name"] == "long.txt")
        assert long.page_content.count("of the long manual") == 250
    # one request per document plus two more pages of the long one; async: several at once (the
    # pages ahead, plus the next page of the document being read)
    assert sync_count.sent == async_count.sent == 43
    assert sync_count.most == 1, sync_count
    assert ASYNC_WINDOW // 2 <= async_count.most <= ASYNC_WINDOW + 1, async_count


async def test_async_loader_requests_a_bounded_window_ahead(
    slow_site: SlowSite,
) -> None:
    server, dataset_id, listed = slow_site
    count = InFlight("/chunks")
    aclient, http = counting_async_client(count, **connection(server))
    try:
        pages = RAGFlowLoader(dataset_id, mode="documents", async_client=aclient).alazy_load()
        first = [await anext(pages) for _ in range(3)]
        await asyncio.sleep(3 * LATENCY)  # the requests sent ahead have all come back
        assert [d.id for d in first] == listed[:3]
        assert count.sent <= 3 + ASYNC_WINDOW + 1, count  # a window, not every document at once
        await pages.aclose()  # stopping early leaves no request running
        assert count.now == 0
    finally:
        await http.aclose()


# ---------------------------------------------------------------------------- api keys


@pytest.mark.parametrize("empty", ["", SecretStr("")])
def test_an_explicitly_empty_key_is_an_error_not_the_environment(
    site: Site, monkeypatch: pytest.MonkeyPatch, empty: str | SecretStr
) -> None:
    monkeypatch.setenv("RAGFLOW_API_KEY", site.server.api_key)  # a working key to fall back to
    monkeypatch.setenv("RAGFLOW_BASE_URL", site.server.base_url)
    assert RAGFlowRetriever(dataset_ids=[site.dataset_id]).invoke("tea")  # unset: the env's
    makers = {
        "RAGFlowRetriever": lambda: RAGFlowRetriever(api_key=empty, dataset_ids=[site.dataset_id]),
        "ChatRAGFlow": lambda: ChatRAGFlow(api_key=empty, chat_id=site.chat_id),
        "RAGFlowSearchTool": lambda: RAGFlowSearchTool(api_key=empty, dataset_ids=["x"]),
        "RAGFlowToolkit": lambda: RAGFlowToolkit(api_key=empty),
        "RAGFlowLoader": lambda: RAGFlowLoader(site.dataset_id, api_key=empty),
        "RAGFlowVectorStore": lambda: RAGFlowVectorStore(site.dataset_id, api_key=empty),
        "RAGFlow": lambda: RAGFlow(api_key=""),
    }
    for name, make in makers.items():
        with pytest.raises(ValueError, match=r"(api_key is empty|No RAGFlow API key)") as caught:
            make()
        assert "RAGFLOW_API_KEY" in str(caught.value), name


# ---------------------------------------------------------------------------- pickles


def test_pickles_keep_the_server_they_were_built_for(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A component keeps the server it was built for, also when that was the default one (no
    base_url, no RAGFLOW_BASE_URL): a pickle loaded where the environment names another server
    must not send its key there."""
    for name in ("RAGFLOW_BASE_URL", "RAGFLOW_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    key = {"api_key": site.server.api_key}
    defaults = [
        RAGFlowRetriever(dataset_ids=[site.dataset_id], **key),
        ChatRAGFlow(chat_id=site.chat_id, **key),
        RAGFlowLoader(site.dataset_id, **key),
        RAGFlowVectorStore(site.dataset_id, show_progress=False, **key),
    ]
    built = [
        RAGFlowRetriever(dataset_ids=[site.dataset_id], **site.connection),
        ChatRAGFlow(chat_id=site.chat_id, **site.connection),
        RAGFlowLoader(site.dataset_id, mode="documents", **site.connection),
        RAGFlowVectorStore(site.dataset_id, show_progress=False, **site.connection),
    ]
    pickles = [pickle.dumps(component) for component in defaults + built]
    with LocalRAGFlowServer() as elsewhere:
        monkeypatch.setenv("RAGFLOW_BASE_URL", elsewhere.base_url)
        monkeypatch.setenv("RAGFLOW_API_KEY", elsewhere.api_key)
        elsewhere.inject_fault("*", status=500)  # anything sent there fails loudly
        loaded = [pickle.loads(blob) for blob in pickles]
        for component in loaded[:4]:
            assert component._clients.sync.base_url == "http://localhost:9380/api/v1"
        retriever, model, loader, store = loaded[4:]
        for component in loaded[4:]:
            assert component._clients.sync.base_url.startswith(site.server.base_url)
        assert retriever.invoke("green tea") and asyncio.run(retriever.ainvoke("green tea"))
        assert model.invoke("green tea?").content
        assert len(loader.load()) == len(TEXTS)
        assert store.similarity_search("green tea", k=1)


# ------------------------------------------------------------------- vector store filter

TEAS = {
    "sencha": (
        "Sencha is a green tea steamed right after picking.",
        {"kind": "green", "year": 2019},
    ),
    "matcha": ("Matcha is a green tea ground into a fine powder.", {"kind": "green", "year": 2023}),
    "assam": ("Assam is a black tea with a malty taste.", {"kind": "black", "year": 2021}),
    "oolong": ("Oolong tea is partly oxidised, between green and black.", {"kind": "oolong"}),
}


@pytest.fixture(scope="module")
def tea_store(site: Site) -> RAGFlowVectorStore:
    return RAGFlowVectorStore.from_texts(
        [text for text, _ in TEAS.values()],
        metadatas=[meta for _, meta in TEAS.values()],
        ids=list(TEAS),
        dataset_name="tea-filters",
        show_progress=False,
        poll_interval=0.05,
        **site.connection,
    )


FILTERS = [
    ({"kind": "green"}, {"sencha", "matcha"}),
    ({"kind": {"$eq": "black"}}, {"assam"}),
    ({"kind": {"$ne": "green"}}, {"assam", "oolong"}),
    ({"kind": {"$in": ["black", "oolong"]}}, {"assam", "oolong"}),
    ({"kind": {"$nin": ["green"]}}, {"assam", "oolong"}),
    ({"year": {"$gt": 2019}}, {"matcha", "assam"}),
    ({"year": {"$gte": 2021, "$lt": 2023}}, {"assam"}),
    ({"year": {"$lte": 2019}}, {"sencha"}),
    ({"kind": "green", "year": {"$gt": 2020}}, {"matcha"}),
    ({"$and": [{"kind": "green"}, {"year": {"$lt": 2020}}]}, {"sencha"}),
    ({"$or": [{"kind": "black"}, {"kind": "oolong"}]}, {"assam", "oolong"}),
    ({"$or": [{"year": {"$gte": 2023}}, {"$or": [{"kind": "black"}]}]}, {"matcha", "assam"}),
    ({"kind": {"$contains": "oolo"}}, {"oolong"}),
    ({}, set(TEAS)),
]


@pytest.mark.parametrize(("filter", "expected"), FILTERS, ids=[str(f) for f, _ in FILTERS])
async def test_similarity_search_filter_matches_only_those_documents(
    tea_store: RAGFlowVectorStore, filter: dict[str, Any], expected: set[str]
) -> None:
    every = {"k": 10, "similarity_threshold": 0.0, "filter": filter}  # all four match "tea"
    found = {d.id for d in tea_store.similarity_search("tea", **every)}
    afound = {d.id for d in await tea_store.asimilarity_search("tea", **every)}
    scored = {d.id for d, _ in tea_store.similarity_search_with_score("tea", **every)}
    assert found == afound == scored == expected
    retriever = tea_store.as_retriever(search_kwargs=every)
    assert {d.id for d in retriever.invoke("tea")} == expected


async def test_filter_combines_with_metadata_condition_and_refuses_what_ragflow_cannot(
    tea_store: RAGFlowVectorStore,
) -> None:
    green = {
        "logic": "and",
        "conditions": [{"name": "kind", "comparison_operator": "=", "value": "green"}],
    }
    both = tea_store.similarity_search(
        "tea", k=10, similarity_threshold=0.0, filter={"year": {"$gt": 2020}},
        metadata_condition=green,
    )  # fmt: skip
    assert [d.id for d in both] == ["matcha"]
    refused = [
        ({"$not": {"kind": "green"}}, "cannot express '\\$not'"),
        ({"kind": {"$exists": True}}, "supported operators"),
        ({"kind": {"$like": "gr%"}}, "supported operators"),
        ({"$and": [{"$or": [{"kind": "green"}, {"kind": "black"}]}, {"year": 2021}]}, "OR of"),
        ({"kind": ["green", "black"]}, "use \\$in"),
        ({"kind": {"$in": "green"}}, "takes a list"),
        ({"kind": None}, "one string or number"),
        ({"meta": {"kind": "green"}}, "nested fields"),
        ({"$or": []}, "non-empty list"),
    ]
    for filter, message in refused:
        with pytest.raises(ValueError, match=message):
            tea_store.similarity_search("tea", filter=filter)
        with pytest.raises(ValueError, match=message):
            await tea_store.asimilarity_search("tea", filter=filter)
    with pytest.raises(TypeError, match="filter must be a dict"):
        tea_store.similarity_search("tea", filter="kind = green")
    either = {"logic": "or", "conditions": [*green["conditions"], *green["conditions"]]}
    with pytest.raises(ValueError, match="cannot combine the OR filter"):
        tea_store.similarity_search("tea", filter={"year": 2021}, metadata_condition=either)
