"""ChatRAGFlow: the langchain-tests chat-model suites (native and OpenAI-compatible endpoints)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from adapter_fixtures import uncited
from agent_canvas import canvas
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_corpus import QUERY, Corpus, CorpusMixin, build_corpus
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests
from pytest_benchmark.fixture import BenchmarkFixture

from ragflow_integrations import APIError, NotFoundError, RAGFlow
from ragflow_integrations.langchain import ChatRAGFlow, reference_documents


@pytest.fixture
def benchmark(benchmark: BenchmarkFixture, request: pytest.FixtureRequest) -> BenchmarkFixture:
    """In cassette tests, run a benchmarked call once: a cassette answers each recorded request
    once, while a benchmark repeats the call for many rounds (and timing a replay measures
    nothing). Tests without a cassette keep the real benchmark."""
    if request.node.get_closest_marker("vcr") is not None:
        benchmark.disabled = True
    return benchmark


@pytest.fixture(autouse=True)
def _serial_requests_while_recording(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While recording, send one HTTP request at a time.

    vcrpy removes its patches process-wide while it forwards a request to the real server, so a
    request another thread makes meanwhile (``model.batch`` runs in threads) is not recorded and
    the replay misses it. Serialising sends keeps every request in the cassette; replay itself is
    thread-safe and runs concurrently.
    """
    if request.node.get_closest_marker("vcr") is None:
        return
    if not request.getfixturevalue("ragflow_server").recording:
        return
    lock = threading.Lock()
    send = requests.Session.send

    def serial_send(self: requests.Session, prepared: Any, **kwargs: Any) -> Any:
        with lock:
            return send(self, prepared, **kwargs)

    monkeypatch.setattr(requests.Session, "send", serial_send)


class _NoToolCalling:
    """bind_tools / with_structured_output are overridden only to say why they cannot work."""

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False


class TestChatRAGFlowUnit(_NoToolCalling, ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatRAGFlow]:
        return ChatRAGFlow

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"chat_id": "chat-1", "api_key": "unit-test-key", "base_url": "http://x:9380"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"RAGFLOW_API_KEY": "env-api-key", "RAGFLOW_BASE_URL": "http://env-host:9380"},
            {"chat_id": "chat-1"},
            {"api_key": "env-api-key", "base_url": "http://env-host:9380"},
        )

    @property
    def returns_usage_metadata(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return False


class _ChatSuite(_NoToolCalling, CorpusMixin, ChatModelIntegrationTests):
    build_chat = True
    # The suite only checks message shapes; one document keeps its ~50 cassettes small (the
    # fixture builds the corpus even for tests that then skip on a capability flag).
    corpus_texts = ("passwords.txt",)

    @property
    def chat_model_class(self) -> type[ChatRAGFlow]:
        return ChatRAGFlow

    @property
    def enable_vcr_tests(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        # The model is the assistant's own; another one must be configured on the server.
        return False


@pytest.mark.vcr
class TestChatRAGFlowNative(_ChatSuite):
    """The native completion endpoint: references and reasoning, but no token usage."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"chat_id": self.corpus.chat_id, **self.corpus.connection}

    @property
    def returns_usage_metadata(self) -> bool:
        return False


@pytest.mark.vcr
class TestChatRAGFlowOpenAI(_ChatSuite):
    """The OpenAI-compatible endpoint, which reports token usage."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"chat_id": self.corpus.chat_id, "api": "openai", **self.corpus.connection}

    @property
    def returns_usage_metadata(self) -> bool:
        return True


# ---------------------------------------------------------------- RAGFlow-specific behaviour


class _TokenCounter(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: Any, **kwargs: Any) -> None:
        self.tokens.append(str(token))


def _chat(ragflow_server: Any, poll_interval: float, **kwargs: Any) -> tuple[Corpus, ChatRAGFlow]:
    corpus = build_corpus(ragflow_server, poll_interval, chat=True)
    return corpus, ChatRAGFlow(chat_id=corpus.chat_id, **corpus.connection, **kwargs)


@pytest.mark.vcr
async def test_answer_references_and_stream_parity(
    ragflow_server: Any, poll_interval: float
) -> None:
    corpus, model = _chat(ragflow_server, poll_interval)
    reply = model.invoke(QUERY)
    assert isinstance(reply.content, str) and "reset" in reply.content.lower()
    docs = reference_documents(reply)
    assert docs and docs[0].metadata["ragflow_document_name"] == "passwords.txt"
    assert docs[0].metadata["ragflow_dataset_id"] == corpus.dataset_id
    assert docs[0].metadata["topic"] == "accounts"
    assert reply.response_metadata["model_provider"] == "ragflow"
    assert reply.response_metadata["chat_id"] == corpus.chat_id
    aggs = reply.response_metadata["doc_aggs"]
    assert aggs[0]["doc_name"] == "passwords.txt"
    assert sum(agg["count"] for agg in aggs) >= len(docs)

    counter = _TokenCounter()
    chunks = list(model.stream(QUERY, config={"callbacks": [counter]}))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert [c.chunk_position for c in chunks][-1] == "last"
    assert [c for c in chunks if c.chunk_position == "last"] == chunks[-1:]
    # RAGFlow inserts citation markers into whole answers only; a stream is the model's text
    assert "".join(str(c.content) for c in chunks) == uncited(str(reply.content))
    assert counter.tokens == [str(c.content) for c in chunks]
    streamed = chunks[0]
    for chunk in chunks[1:]:
        streamed += chunk
    assert reference_documents(streamed) == docs

    areply = await model.ainvoke(QUERY)
    assert areply.content == reply.content
    assert reference_documents(areply) == docs
    achunks = [c async for c in model.astream(QUERY)]
    assert "".join(str(c.content) for c in achunks) == uncited(str(reply.content))
    assert achunks[-1].chunk_position == "last"


@pytest.mark.vcr
async def test_stateless_by_default_and_session_memory(
    ragflow_server: Any, poll_interval: float
) -> None:
    corpus, model = _chat(ragflow_server, poll_interval)
    history = [
        HumanMessage("Tell me about shipping."),
        AIMessage("Standard shipping takes three to five days."),
        HumanMessage(QUERY),
    ]
    assert model.invoke(history).content
    client = RAGFlow(**corpus.connection)
    chat = client.get_chat(str(corpus.chat_id))
    assert chat.list_sessions() == []

    with_memory = ChatRAGFlow.from_session(chat_id=corpus.chat_id, **corpus.connection)
    assert with_memory.session_id
    first = with_memory.invoke("How long does express shipping take?")
    second = with_memory.invoke(QUERY)
    assert first.response_metadata["session_id"] == with_memory.session_id
    assert second.response_metadata["session_id"] == with_memory.session_id
    sessions = chat.list_sessions()
    assert [s.id for s in sessions] == [with_memory.session_id]
    stored = [m["content"] for m in sessions[0].messages if m.get("role") == "user"]
    assert stored == ["How long does express shipping take?", QUERY]

    async_memory = await ChatRAGFlow.afrom_session(chat_id=corpus.chat_id, **corpus.connection)
    areply = await async_memory.ainvoke(QUERY)
    assert areply.response_metadata["session_id"] == async_memory.session_id
    assert {s.id for s in chat.list_sessions()} == {
        with_memory.session_id,
        async_memory.session_id,
    }


@pytest.mark.vcr
def test_stop_sequences_cut_the_answer(ragflow_server: Any, poll_interval: float) -> None:
    _, model = _chat(ragflow_server, poll_interval)
    full = str(model.invoke(QUERY).content)
    cut = str(model.invoke(QUERY, stop=["."]).content)
    assert "." in full
    assert cut == full[: full.index(".")]
    streamed = "".join(str(c.content) for c in model.stream(QUERY, stop=["."]))
    assert streamed == cut


@pytest.mark.vcr
def test_openai_endpoint_reports_usage(ragflow_server: Any, poll_interval: float) -> None:
    _, model = _chat(ragflow_server, poll_interval, api="openai")
    reply = model.invoke(QUERY)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] > 0
    assert reply.usage_metadata["output_tokens"] > 0
    assert reply.usage_metadata["total_tokens"] == (
        reply.usage_metadata["input_tokens"] + reply.usage_metadata["output_tokens"]
    )
    assert reference_documents(reply)[0].metadata["ragflow_document_name"] == "passwords.txt"


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="exactly one of chat_id"):
        ChatRAGFlow(api_key="k", base_url="http://x")
    with pytest.raises(ValueError, match='api="openai"'):
        ChatRAGFlow(agent_id="a", api="openai", api_key="k", base_url="http://x")
    model = ChatRAGFlow(chat_id="c", api_key="very-secret-key", base_url="http://x")
    assert "very-secret-key" not in repr(model)
    params = model._get_ls_params()
    assert params["ls_provider"] == "ragflow"
    assert params["ls_model_name"] == "chat:c"


def _create_agent(corpus: Corpus) -> str:
    """An agent over the corpus (the local server's agent retrieves from the DSL's datasets)."""
    agent = RAGFlow(**corpus.connection).create_agent("Help agent", canvas(corpus.dataset_id))
    return agent.id


@pytest.mark.vcr
async def test_agent_answers_statelessly_and_with_a_session(
    ragflow_server: Any, poll_interval: float
) -> None:
    corpus = build_corpus(ragflow_server, poll_interval)
    agent_id = _create_agent(corpus)
    model = ChatRAGFlow(agent_id=agent_id, **corpus.connection)
    assert model._llm_type == "ragflow-agent"
    reply = model.invoke([HumanMessage("Hello"), AIMessage("Hi!"), HumanMessage(QUERY)])
    assert "reset" in str(reply.content).lower()
    assert reference_documents(reply)[0].metadata["ragflow_document_name"] == "passwords.txt"
    assert reply.response_metadata["agent_id"] == agent_id
    assert reply.usage_metadata is not None  # agents report usage on the non-streaming path
    assert reply.usage_metadata["total_tokens"] == (
        reply.usage_metadata["input_tokens"] + reply.usage_metadata["output_tokens"]
    )
    assert reply.usage_metadata["output_tokens"] > 0
    chunks = list(model.stream(QUERY))
    assert "".join(str(c.content) for c in chunks) == reply.content
    assert chunks[-1].chunk_position == "last"
    achunks = [c async for c in model.astream(QUERY)]
    assert "".join(str(c.content) for c in achunks) == reply.content
    client = RAGFlow(**corpus.connection)
    assert client.get_agent(agent_id).list_sessions() == []

    with_memory = ChatRAGFlow.from_session(agent_id=agent_id, **corpus.connection)
    answer = with_memory.invoke(QUERY)
    assert answer.response_metadata["session_id"] == with_memory.session_id
    assert [s.id for s in client.get_agent(agent_id).list_sessions()] == [with_memory.session_id]


@pytest.mark.vcr
@pytest.mark.emulate("0.22")
async def test_old_server_streams_and_stays_stateless(
    ragflow_server: Any, poll_interval: float
) -> None:
    """RAGFlow 0.22 streams cumulative text and cannot take a history: same LangChain result."""
    corpus, model = _chat(ragflow_server, poll_interval)
    history = [HumanMessage("Tell me about shipping."), AIMessage("Sure."), HumanMessage(QUERY)]
    reply = model.invoke(history)
    assert "reset" in str(reply.content).lower()
    # the whole conversation reached the assistant: it searched for shipping as well
    names = {d.metadata["ragflow_document_name"] for d in reference_documents(reply)}
    assert {"passwords.txt", "shipping.txt"} <= names
    chunks = list(model.stream(history))
    assert "".join(str(c.content) for c in chunks) == uncited(str(reply.content))
    achunks = [c async for c in model.astream(history)]
    assert "".join(str(c.content) for c in achunks) == uncited(str(reply.content))
    assert RAGFlow(**corpus.connection).get_chat(str(corpus.chat_id)).list_sessions() == []


@pytest.mark.vcr
async def test_unknown_assistant_raises(ragflow_server: Any) -> None:
    connection = {"api_key": ragflow_server.api_key, "base_url": ragflow_server.base_url}
    model = ChatRAGFlow(chat_id="0" * 32, **connection)
    # v0.27 says only "no authorization": the client names the chat
    with pytest.raises(NotFoundError, match=r"Chat 0{32}"):
        model.invoke(QUERY)
    with pytest.raises(APIError, match=r"0{32}"):
        model.invoke(QUERY)
    with pytest.raises(APIError, match=r"0{32}"):
        list(model.stream(QUERY))
    with pytest.raises(APIError, match=r"0{32}"):
        await model.ainvoke(QUERY)
