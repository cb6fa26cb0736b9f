"""LlamaIndex adapters: regressions found in review, run against the local server (no cassette).

Each test pins one fixed behaviour: bounded tool descriptions, overlapped reads, the connection
kept by pickles, refusals of what RAGFlow cannot do (structured output, ReAct agents).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from adapter_fixtures import (
    InFlight,
    SlowSite,
    connection,
    counting_async_client,
    counting_client,
    many_datasets,
    slow_site_running,
)
from pydantic import BaseModel

from ragflow_integrations import RAGFlow
from ragflow_integrations._chunk_prefetch import ASYNC_WINDOW
from ragflow_integrations.llama_index import RAGFlowReader, RAGFlowToolSpec
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server() -> Iterator[LocalRAGFlowServer]:
    with LocalRAGFlowServer() as local:
        yield local


# ------------------------------------------------------------------------------- tools


async def test_tool_spec_descriptions_stay_within_llama_index_limit() -> None:
    with LocalRAGFlowServer() as own, RAGFlow(**connection(own)) as client:
        few = many_datasets(client, 3)
        spec = RAGFlowToolSpec(few, describe_datasets=True, **connection(own))
        description = spec.to_tool_list()[0].metadata.description
        assert all(dataset_id in description for dataset_id in few)
        assert "Knowledge base 2: manuals, release notes" in description
        assert "more datasets" not in description

        ids = few + many_datasets(client, 147)
        spec = RAGFlowToolSpec(ids, describe_datasets=True, **connection(own))
        for tools in (spec.to_tool_list(), await spec.to_tool_list_async()):
            search = tools[0].metadata
            assert len(search.description) <= 1024, len(search.description)
            search.to_openai_tool()  # LlamaIndex's own check (refuses more than 1,024)
            named = [dataset_id for dataset_id in ids if dataset_id in search.description]
            assert 5 <= len(named) < 150
            assert search.description.endswith(
                f"… and {150 - len(named)} more datasets (call list_datasets to see them all)"
            )
        listed = await spec.alist_datasets()
        assert all(dataset_id in listed for dataset_id in ids)


# ------------------------------------------------------------------------------ reader


@pytest.fixture(scope="module")
def slow_site() -> Iterator[SlowSite]:
    with slow_site_running() as site:
        yield site


@pytest.mark.parametrize("mode", ["documents", "chunks"])
async def test_async_reader_overlaps_chunk_requests_in_order_and_bounded(
    slow_site: SlowSite, mode: str
) -> None:
    own, dataset_id, listed = slow_site
    sync_count, async_count = InFlight("/chunks"), InFlight("/chunks")
    with counting_client(sync_count, **connection(own)) as client:
        loaded = RAGFlowReader(dataset_id, mode=mode, client=client).load_data()
    aclient, http = counting_async_client(async_count, **connection(own))
    try:
        aloaded = await RAGFlowReader(dataset_id, mode=mode, async_client=aclient).aload_data()
    finally:
        await http.aclose()
    assert [d.id_ for d in loaded] == [d.id_ for d in aloaded]
    assert [d.text for d in loaded] == [d.text for d in aloaded]
    owners = list(dict.fromkeys(d.metadata["ragflow_document_id"] for d in loaded))
    assert owners == listed  # documents (and each document's chunks) in listing order
    with RAGFlow(**connection(own)) as plain:
        chunks = sum(d.chunk_count for d in plain.get_dataset(id=dataset_id).iter_documents())
    assert chunks > 41 and len(loaded) == (41 if mode == "documents" else chunks)
    assert sync_count.sent == async_count.sent == 43  # one a document, two more for the long one
    assert sync_count.most == 1, sync_count
    assert ASYNC_WINDOW // 2 <= async_count.most <= ASYNC_WINDOW + 1, async_count


# ---------------------------------------------------------------------------- api keys


def test_an_explicitly_empty_key_is_an_error_not_the_environment(
    server: LocalRAGFlowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragflow_integrations.llama_index import (
        RAGFlowChatEngine,
        RAGFlowIndex,
        RAGFlowLLM,
        RAGFlowRetriever,
    )

    monkeypatch.setenv("RAGFLOW_API_KEY", server.api_key)  # a working key to fall back to
    monkeypatch.setenv("RAGFLOW_BASE_URL", server.base_url)
    with RAGFlow() as client:
        dataset = client.create_dataset("empty-key")
    makers = {
        "RAGFlowRetriever": lambda: RAGFlowRetriever(dataset_ids=[dataset.id], api_key=""),
        "RAGFlowLLM": lambda: RAGFlowLLM("c" * 32, api_key=""),
        "RAGFlowReader": lambda: RAGFlowReader(dataset.id, api_key=""),
        "RAGFlowToolSpec": lambda: RAGFlowToolSpec([dataset.id], api_key=""),
        "RAGFlowChatEngine": lambda: RAGFlowChatEngine("c" * 32, api_key=""),
        "RAGFlowIndex": lambda: RAGFlowIndex(dataset_id=dataset.id, api_key=""),
    }
    for name, make in makers.items():
        with pytest.raises(ValueError, match=r"api_key is empty: .* RAGFLOW_API_KEY") as caught:
            make()
        assert "RAGFLOW_API_KEY" in str(caught.value), name
    RAGFlowRetriever(dataset_ids=[dataset.id]).retrieve("anything")  # unset: the env's key


# ---------------------------------------------------------------------------- pickles


@pytest.fixture(scope="module")
def facts(server: LocalRAGFlowServer) -> dict[str, str]:
    """A parsed dataset and a chat on ``server``: ids by name."""
    with RAGFlow(**connection(server)) as client:
        dataset = client.create_dataset("pickles")
        uploaded = dataset.upload_documents(
            [{"display_name": "owl.txt", "blob": b"Snowy owls hunt lemmings in the Arctic."}]
        )
        dataset.parse_documents([d.id for d in uploaded], timeout=60, poll_interval=0.05)
        chat = client.create_chat("Owls", dataset_ids=[dataset.id])
    return {"dataset": dataset.id, "chat": chat.id}


async def test_unpickled_components_keep_their_server_and_key(
    server: LocalRAGFlowServer, facts: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    from ragflow_integrations.llama_index import (
        RAGFlowChatEngine,
        RAGFlowIndex,
        RAGFlowLLM,
        RAGFlowRetriever,
    )

    own = connection(server)
    built = {
        "llm": RAGFlowLLM(facts["chat"], **own),
        "reader": RAGFlowReader(facts["dataset"], **own),
        "retriever": RAGFlowRetriever(dataset_ids=[facts["dataset"]], **own),
        "index": RAGFlowIndex(dataset_id=facts["dataset"], **own),
        "engine": RAGFlowChatEngine(facts["chat"], **own),
        "tools": RAGFlowToolSpec([facts["dataset"]], **own),
    }
    pickles = {name: pickle.dumps(component) for name, component in built.items()}
    with LocalRAGFlowServer() as elsewhere:  # the environment now names another server and key
        monkeypatch.setenv("RAGFLOW_BASE_URL", elsewhere.base_url)
        monkeypatch.setenv("RAGFLOW_API_KEY", elsewhere.api_key)
        elsewhere.inject_fault("*", status=500)  # anything sent there fails loudly
        loaded = {name: pickle.loads(blob) for name, blob in pickles.items()}
        for name, component in loaded.items():
            assert component._clients.sync.base_url.startswith(server.base_url), name
        llm, reader = loaded["llm"], loaded["reader"]
        assert "lemmings" in llm.complete("What do snowy owls hunt?").text
        assert "lemmings" in (await llm.acomplete("What do snowy owls hunt?")).text
        assert [d.id_ for d in reader.load_data()] == [d.id_ for d in await reader.aload_data()]
        assert "lemmings" in reader.load_data()[0].text
        for retriever in (loaded["retriever"], loaded["index"].as_retriever()):
            assert "lemmings" in retriever.retrieve("owls")[0].get_content()
            assert "lemmings" in (await retriever.aretrieve("owls"))[0].get_content()
        assert "lemmings" in str(loaded["engine"].chat("What do snowy owls hunt?"))
        assert "lemmings" in await loaded["tools"].asearch_knowledge_base("owls")


def test_a_pickle_without_its_connection_is_refused() -> None:
    import pickle

    from ragflow_integrations.llama_index import RAGFlowLLM

    llm = RAGFlowLLM("c" * 32, api_key="a-key", base_url="http://127.0.0.1:9")
    state = llm.__getstate__()
    del state["__pydantic_private__"]["_clients"]
    blank = RAGFlowLLM.__new__(RAGFlowLLM)
    with pytest.raises(TypeError, match=r"carries no RAGFlow connection .* build the RAGFlowLLM"):
        blank.__setstate__(state)
    assert pickle.loads(pickle.dumps(llm))._clients.sync.base_url.startswith("http://127.0.0.1:9")


# ------------------------------------------------------------------ what RAGFlow cannot do


class _Answer(BaseModel):
    """A structured answer."""

    text: str


async def test_structured_output_and_tool_calls_are_refused_like_chat_ragflow(
    server: LocalRAGFlowServer, facts: dict[str, str]
) -> None:
    from llama_index.core.prompts import PromptTemplate
    from llama_index.core.tools import FunctionTool

    from ragflow_integrations.llama_index import RAGFlowLLM

    llm = RAGFlowLLM(facts["chat"], **connection(server))
    prompt = PromptTemplate("Describe {topic}.")
    tool = FunctionTool.from_defaults(fn=lambda city: f"Sunny in {city}", name="weather")
    refusals = {
        "structured_predict": lambda: llm.structured_predict(_Answer, prompt, topic="owls"),
        "stream_structured_predict": lambda: llm.stream_structured_predict(
            _Answer, prompt, topic="owls"
        ),
        "as_structured_llm": lambda: llm.as_structured_llm(_Answer),
        "predict_and_call": lambda: llm.predict_and_call([tool], "Weather in Oslo?"),
    }
    for name, call in refusals.items():
        with pytest.raises(NotImplementedError, match="RAGFlowLLM cannot") as caught:
            call()
        assert "function-calling LLM" in str(caught.value), name
    for acall in (
        lambda: llm.astructured_predict(_Answer, prompt, topic="owls"),
        lambda: llm.astream_structured_predict(_Answer, prompt, topic="owls"),
        lambda: llm.apredict_and_call([tool], "Weather in Oslo?"),
    ):
        with pytest.raises(NotImplementedError, match="RAGFlowLLM cannot"):
            await acall()
    assert "lemmings" in llm.complete("What do snowy owls hunt?").text  # plain chat still works


@pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")  # the agent workflow's own
@pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning")
@pytest.mark.parametrize("streaming", [True, False])
async def test_react_agent_over_ragflow_llm_is_refused_not_answered_without_tools(
    server: LocalRAGFlowServer, facts: dict[str, str], streaming: bool
) -> None:
    from llama_index.core.agent.workflow import AgentWorkflow, ReActAgent
    from llama_index.core.tools import FunctionTool

    from ragflow_integrations.llama_index import RAGFlowLLM

    used: list[str] = []

    def weather(city: str) -> str:
        """Today's weather in a city."""
        used.append(city)
        return f"Sunny in {city}"

    llm = RAGFlowLLM(facts["chat"], **connection(server))
    tools = [FunctionTool.from_defaults(fn=weather)]
    agents = [
        ReActAgent(tools=tools, llm=llm, streaming=streaming),
        AgentWorkflow.from_tools_or_functions(tools, llm=llm),  # picks ReActAgent for this LLM
    ]
    for agent in agents:
        with pytest.raises(Exception, match="RAGFlowLLM cannot drive an agent") as caught:
            await agent.run("What is the weather in Oslo?")
        assert "function-calling LLM" in str(caught.value)
    assert used == []
