"""The LangChain and LlamaIndex adapters under faults: retries still happen underneath, and
failures reach the caller as the same typed errors (never swallowed into an empty or partial
success)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from _reliability import (
    API_KEY,
    WireLog,
    call_with_deadline,
    describe_error,
    pending_fault_uses,
    seed_dataset,
    unique,
)

from ragflow_integrations import AsyncRAGFlow, RAGFlow, RAGFlowError, ServerError, StreamError
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

QUESTION = "How hot is the surface of the Sun?"


@dataclass
class Target:
    dataset_id: str
    chat_id: str


@pytest.fixture(scope="module")
def target(server: LocalRAGFlowServer) -> Iterator[Target]:
    with RAGFlow(api_key=API_KEY, base_url=server.base_url, server_version="0.27") as client:
        dataset = seed_dataset(client, unique("adapters"))
        chat = client.create_chat(name=unique("adapter-chat"), dataset_ids=[dataset.id])
        yield Target(dataset.id, chat.id)


def _retrievers(client: RAGFlow, target: Target) -> dict[str, Callable[[], list[Any]]]:
    from ragflow_integrations.langchain import RAGFlowRetriever as LCRetriever
    from ragflow_integrations.llama_index import RAGFlowRetriever as LIRetriever

    lc = LCRetriever(client=client, dataset_ids=[target.dataset_id])
    li = LIRetriever(client=client, dataset_ids=[target.dataset_id])
    return {"langchain": lambda: lc.invoke(QUESTION), "llama_index": lambda: li.retrieve(QUESTION)}


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_retriever_rides_out_transient_failures(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    framework: str,
) -> None:
    run = _retrievers(make_client(max_retries=3), target)[framework]
    baseline = run()
    assert baseline
    mark = len(wire)
    server.inject_fault("/retrieval", "POST", status=503, retry_after=0.05, times=2)
    started = time.monotonic()
    results = run()
    elapsed = time.monotonic() - started
    assert len(results) == len(baseline)
    sent = [r for r in wire[mark:] if r.path.endswith("/retrieval")]
    assert [r.status for r in sent] == [503, 503, 200]
    ledger(
        area="adapters",
        fault=f"HTTP 503 x2 under the {framework} retriever",
        injected=2 - pending_fault_uses(server.base_url, server.api_key),
        requests_sent=len(sent),
        caller_saw=f"{len(results)} results, same as without faults",
        data_check="nothing lost",
        seconds=elapsed,
    )


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_retriever_failure_is_raised_typed(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    framework: str,
) -> None:
    run = _retrievers(make_client(max_retries=1), target)[framework]
    server.inject_fault("/retrieval", "POST", status=500)
    started = time.monotonic()
    with pytest.raises(ServerError) as caught:
        run()
    elapsed = time.monotonic() - started
    assert caught.value.attempts == 2 and caught.value.status_code == 500
    ledger(
        area="adapters",
        fault=f"HTTP 500 on every retrieval under the {framework} retriever",
        injected=len(wire.to("/retrieval", "POST")),
        requests_sent=len(wire.to("/retrieval", "POST")),
        caller_saw=describe_error(caught.value),
        data_check="typed error, not an empty result",
        seconds=elapsed,
    )


def _streams(client: RAGFlow, target: Target) -> dict[str, Callable[[], list[str]]]:
    from langchain_core.messages import HumanMessage
    from llama_index.core.llms import ChatMessage

    from ragflow_integrations.langchain import ChatRAGFlow
    from ragflow_integrations.llama_index import RAGFlowLLM

    lc = ChatRAGFlow(client=client, chat_id=target.chat_id)
    li = RAGFlowLLM(client=client, chat_id=target.chat_id)

    def langchain() -> list[str]:
        return [str(c.content) for c in lc.stream([HumanMessage(QUESTION)])]

    def llama_index() -> list[str]:
        return [r.delta or "" for r in li.stream_chat([ChatMessage(role="user", content=QUESTION)])]

    return {"langchain": langchain, "llama_index": llama_index}


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_chat_model_stream_cut_is_raised_not_truncated(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    framework: str,
) -> None:
    run = _streams(make_client(max_retries=3), target)[framework]
    full = "".join(call_with_deadline(run, 15))
    assert full
    server.inject_fault("/chat/completions", "POST", cut_stream_after=5, times=1)
    started = time.monotonic()

    def consume() -> BaseException | None:
        try:
            run()
        except Exception as exc:
            return exc
        return None

    error = call_with_deadline(consume, 15)
    elapsed = time.monotonic() - started
    assert isinstance(error, RAGFlowError), f"the cut stream ended quietly ({error!r})"
    assert isinstance(error, StreamError)
    assert full.startswith(error.partial_text) and len(error.partial_text) < len(full)
    ledger(
        area="adapters",
        fault=f"stream cut after 5 SSE events under the {framework} chat model",
        injected=1 - pending_fault_uses(server.base_url, server.api_key),
        requests_sent=len(wire.to("/chat/completions", "POST")) - 1,
        caller_saw=describe_error(error),
        data_check=f"partial_text is a {len(error.partial_text)}-char prefix of the answer",
        seconds=elapsed,
    )


def _sink(framework: str, client: RAGFlow, dataset_id: str) -> Callable[[list[str]], Any]:
    if framework == "langchain":
        from langchain_core.documents import Document as LCDocument

        from ragflow_integrations.langchain import RAGFlowVectorStore

        store = RAGFlowVectorStore(
            dataset_id, client=client, parse_timeout=0.3, poll_interval=0.02, show_progress=False
        )
        return lambda texts: store.add_documents(
            [LCDocument(page_content=t) for t in texts], ids=[f"doc-{i}" for i in range(len(texts))]
        )
    from llama_index.core import Document as LIDocument

    from ragflow_integrations.llama_index import RAGFlowIndex

    index = RAGFlowIndex(dataset_id, client=client, parse_timeout=0.3, poll_interval=0.02)
    return lambda texts: index.insert_documents([LIDocument(text=t) for t in texts])


SINK_FAULTS = ["upload 503", "upload dropped after the handler", "parse past the deadline"]


@pytest.mark.parametrize("fault", SINK_FAULTS)
@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_ingestion_sinks_raise_typed_errors(
    server: LocalRAGFlowServer,
    make_client: Callable[..., RAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    framework: str,
    fault: str,
) -> None:
    """A sink (vector store / managed index) whose ingestion fails raises a typed error; it
    never returns ids for documents that are not searchable, and never uploads twice."""
    client = make_client(max_retries=2)
    dataset = client.create_dataset(name=unique(f"sink-{framework}"))
    add = _sink(framework, client, dataset.id)
    route = f"/datasets/{dataset.id}/documents"
    if fault == "upload 503":
        server.inject_fault(route, "POST", status=503, times=1)
    elif fault == "upload dropped after the handler":
        server.inject_fault(route, "POST", cut_stream_after=0, times=1)
    else:
        server.parse_delay = 1.5
    started = time.monotonic()
    try:
        with pytest.raises(RAGFlowError) as caught:
            add(["Granite is an igneous rock.", "Basalt forms from lava."])
    finally:
        server.parse_delay = 0.0
    elapsed = time.monotonic() - started
    uploads = wire.to(route, "POST")
    assert len(uploads) == 1, f"uploaded {len(uploads)} times"
    stored = [d.name for d in client.get_dataset(dataset.id).iter_documents()]
    ledger(
        area="adapters",
        fault=f"{fault} under the {framework} ingestion sink",
        injected=1
        if fault == "parse past the deadline"
        else 1 - pending_fault_uses(server.base_url, server.api_key),
        requests_sent=len(uploads),
        caller_saw=describe_error(caught.value),
        data_check=f"{len(stored)} document(s) on the server, uploaded once",
        seconds=elapsed,
    )


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
async def test_async_retriever_rides_out_transient_failures(
    server: LocalRAGFlowServer,
    target: Target,
    make_client: Callable[..., RAGFlow],
    ledger: Callable[..., None],
    framework: str,
) -> None:
    """The adapters' async paths (``ainvoke`` / ``aretrieve``) retry underneath too."""
    from ragflow_integrations.langchain import RAGFlowRetriever as LCRetriever
    from ragflow_integrations.llama_index import RAGFlowRetriever as LIRetriever

    client = make_client(record=False, max_retries=3)
    baseline: list[Any]
    if framework == "langchain":
        lc = LCRetriever(client=client, dataset_ids=[target.dataset_id])
        baseline = await lc.ainvoke(QUESTION)
        run: Callable[[], Any] = lambda: lc.ainvoke(QUESTION)  # noqa: E731
    else:
        li = LIRetriever(client=client, dataset_ids=[target.dataset_id])
        baseline = await li.aretrieve(QUESTION)
        run = lambda: li.aretrieve(QUESTION)  # noqa: E731
    server.inject_fault("/retrieval", "POST", status=503, retry_after=0.05, times=2)
    started = time.monotonic()
    results = await run()
    elapsed = time.monotonic() - started
    fired = 2 - pending_fault_uses(server.base_url, server.api_key)
    assert fired == 2 and len(results) == len(baseline) > 0
    ledger(
        area="adapters",
        fault=f"HTTP 503 x2 under the async {framework} retriever",
        injected=fired,
        requests_sent=None,
        caller_saw=f"{len(results)} results, same as without faults",
        data_check="nothing lost",
        seconds=elapsed,
    )


RACE_WRITERS = 8


def _race_sink(framework: str, client: RAGFlow, aclient: AsyncRAGFlow, dataset_id: str) -> Any:
    """The write under test (sync, async) and a search returning caller ids, for one framework."""
    options = {"parse_timeout": 30.0, "poll_interval": 0.02}
    if framework == "langchain":
        from langchain_core.documents import Document as LCDocument

        from ragflow_integrations.langchain import RAGFlowVectorStore

        store = RAGFlowVectorStore(
            dataset_id, client=client, async_client=aclient, show_progress=False, **options
        )

        def doc(n: int) -> list[LCDocument]:
            return [LCDocument(page_content=f"Version {n} of the note about basalt.")]

        def search() -> list[str]:
            found = store.similarity_search("note about basalt", k=8, similarity_threshold=0.0)
            return [str(d.id) for d in found]

        return (
            lambda n: store.add_documents(doc(n), ids=["same"]),
            lambda n: store.aadd_documents(doc(n), ids=["same"]),
            search,
            'RAGFlowVectorStore.{}add_documents(ids=["same"])',
        )
    from llama_index.core import Document as LIDocument

    from ragflow_integrations.llama_index import RAGFlowIndex

    index = RAGFlowIndex(dataset_id, client=client, async_client=aclient, **options)

    def node(n: int) -> LIDocument:
        return LIDocument(id_="same", text=f"Version {n} of the note about basalt.")

    def retrieve() -> list[str]:
        hits = index.as_retriever(similarity_threshold=0.0).retrieve("note about basalt")
        return [str(h.node.ref_doc_id) for h in hits]

    return (
        lambda n: index.insert(node(n)),
        lambda n: index.ainsert(node(n)),
        retrieve,
        'RAGFlowIndex.{}insert(Document(id_="same"))',
    )


@pytest.mark.parametrize("style", ["threads", "async tasks"])
@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
async def test_concurrent_upserts_of_one_id_leave_one_copy(
    make_client: Callable[..., RAGFlow],
    make_async_client: Callable[..., AsyncRAGFlow],
    wire: WireLog,
    ledger: Callable[..., None],
    framework: str,
    style: str,
) -> None:
    """Eight writers of one id at once: one copy stays, nobody gets an error, a search returns
    the id once (before the per-id locks: 5-8 copies, NotFoundError for some writers)."""
    client = make_client()
    dataset = client.create_dataset(name=unique(f"race-{framework}"))
    write, awrite, search, call = _race_sink(framework, client, make_async_client(), dataset.id)
    started = time.monotonic()
    if style == "threads":
        with ThreadPoolExecutor(RACE_WRITERS) as pool:
            futures = [pool.submit(write, n) for n in range(RACE_WRITERS)]
        outcomes = [f.exception() or "ok" for f in futures]
    else:
        results = await asyncio.gather(
            *(awrite(n) for n in range(RACE_WRITERS)), return_exceptions=True
        )
        outcomes = [r if isinstance(r, BaseException) else "ok" for r in results]
    elapsed = time.monotonic() - started
    errors = [describe_error(o) for o in outcomes if isinstance(o, BaseException)]
    copies = [d.name for d in client.get_dataset(dataset.id).iter_documents()]
    found = search()
    assert errors == [], errors
    assert copies == ["same.txt"], copies
    assert found == ["same"], found
    ledger(
        area="adapters",
        fault=f"{RACE_WRITERS} concurrent {call.format('a' if style == 'async tasks' else '')} "
        f"({style})",
        injected=RACE_WRITERS,
        requests_sent=len(wire.to(f"/datasets/{dataset.id}/documents", "POST")),
        caller_saw=f"{RACE_WRITERS - len(errors)} of {RACE_WRITERS} returned, no error",
        data_check=f"{len(copies)} copy on the server; a search returns the id {len(found)} time",
        seconds=elapsed,
    )
