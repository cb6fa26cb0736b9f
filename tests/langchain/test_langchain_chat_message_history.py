"""RAGFlowChatMessageHistory: a LangChain chat history in a RAGFlow memory (local server, live)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnableLambda
from langchain_core.runnables.history import RunnableWithMessageHistory

from ragflow_integrations import NotFoundError, RAGFlow, RouteNotFoundError
from ragflow_integrations.langchain import RAGFlowChatMessageHistory
from ragflow_integrations.langchain.chat_message_histories import from_content, to_turns
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.filterwarnings("ignore::langchain_core._api.LangChainDeprecationWarning")


def history(rag: RAGFlow, memory_id: str, session: str, **kw: Any) -> Any:
    return RAGFlowChatMessageHistory(memory_id, session, client=rag, **kw)


def shape(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """What must survive the round trip: everything but a model call's metadata."""
    return [m.model_dump(exclude={"id", "response_metadata", "usage_metadata"}) for m in messages]


CALLS: list[list[BaseMessage]] = [
    [HumanMessage("What is coriander?"), AIMessage("A herb; its seeds are a spice.")],
    [HumanMessage("a lone question")],
    [AIMessage("a lone answer")],
    [SystemMessage("Be brief."), HumanMessage("one"), HumanMessage("two"), AIMessage("three")],
    [HumanMessage("tricky\nAgent Response: not a split"), AIMessage("ok\nAgent Response: x")],
    [HumanMessage("@langchain:system"), AIMessage("")],
    [HumanMessage(""), HumanMessage("named", name="bob"), HumanMessage("héllo ✓ 日本")],
    [AIMessage("", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "call-1"}])],
    [ToolMessage("42", tool_call_id="call-1"), AIMessage([{"type": "text", "text": "list"}])],
    [HumanMessage("  spaces  \n"), AIMessage("User Input: nested")],
]


def test_round_trip_matches_in_memory_history(rag: RAGFlow, memory_id: str) -> None:
    reference = InMemoryChatMessageHistory()
    stored = history(rag, memory_id, "s-sync")
    for call in CALLS:
        reference.add_messages(call)
        stored.add_messages(call)
    stored.add_user_message("last question")
    reference.add_user_message("last question")
    stored.add_ai_message("last answer")
    reference.add_ai_message("last answer")
    assert shape(stored.messages) == shape(reference.messages)
    assert [m.type for m in stored.messages][:3] == ["human", "ai", "human"]


async def test_async_round_trip_matches(rag: RAGFlow, memory_id: str) -> None:
    reference = InMemoryChatMessageHistory()
    stored = history(rag, memory_id, "s-async")
    for call in CALLS:
        await reference.aadd_messages(call)
        await stored.aadd_messages(call)
    assert shape(await stored.aget_messages()) == shape(await reference.aget_messages())
    assert shape(stored.messages) == shape(reference.messages)


def test_turns_are_stored_as_ragflow_turns(rag: RAGFlow, memory_id: str) -> None:
    stored = history(rag, memory_id, "readable", user_id="u1")
    stored.add_messages([HumanMessage("hi"), AIMessage("hello"), SystemMessage("rules")])
    contents = [m.content for m in rag.get_recent_messages([memory_id], session_id="readable")]
    assert contents == [
        "User Input: @langchain:system\nAgent Response: rules",
        "User Input: hi\nAgent Response: hello",
    ]
    found = rag.search_messages("hello", [memory_id], session_id="readable", user_id="u1")
    assert [m.agent_id for m in found] == ["langchain"]


def test_sessions_agents_and_users_are_kept_apart(rag: RAGFlow, memory_id: str) -> None:
    names = ["s1", "s10", "user 42: a/b", "-dash", "s1*"]
    for name in names:
        history(rag, memory_id, name).add_messages([HumanMessage(f"I am {name}")])
    history(rag, memory_id, "s1", agent_id="other").add_messages([HumanMessage("other agent")])
    history(rag, memory_id, "s1", user_id="u2").add_messages([HumanMessage("user u2")])
    for name in names:
        got = [m.content for m in history(rag, memory_id, name).messages]
        assert got[0] == f"I am {name}" and "other agent" not in got
    assert [m.content for m in history(rag, memory_id, "s1", user_id="u2").messages] == ["user u2"]
    assert [m.content for m in history(rag, memory_id, "s1", agent_id="other").messages] == [
        "other agent"
    ]


async def test_clear_forgets_the_session_only(
    rag: RAGFlow, memory_id: str, new_memory: Callable[[list[str]], str]
) -> None:
    semantic = new_memory(["raw", "semantic"])
    for target in (memory_id, semantic):
        mine, other = history(rag, target, "mine"), history(rag, target, "mine-2")
        mine.add_messages([HumanMessage("Tell me"), AIMessage("Paris is the capital of France.")])
        other.add_messages([HumanMessage("keep me")])
        mine.clear()
        assert mine.messages == [] and [m.content for m in other.messages] == ["keep me"]
        assert rag.get_recent_messages([target], session_id="mine") == []  # extracts too
        await mine.aadd_messages([HumanMessage("again")])
        assert [m.content for m in await mine.aget_messages()] == ["again"]
        await mine.aclear()
        assert await mine.aget_messages() == []
        assert len(other.messages) == 1


async def test_more_than_100_turns_read_back_in_order(rag: RAGFlow, memory_id: str) -> None:
    stored = history(rag, memory_id, "long")
    turns: list[BaseMessage] = []
    for i in range(103):
        turns += [HumanMessage(f"question {i}"), AIMessage(f"answer {i}")]
    stored.add_messages(turns)
    assert [m.content for m in stored.messages] == [m.content for m in turns]
    assert [m.content for m in await stored.aget_messages()] == [m.content for m in turns]


def _chain(seen: list[list[BaseMessage]]) -> Any:
    prompt = ChatPromptTemplate.from_messages(
        [MessagesPlaceholder("history"), ("human", "{question}")]
    )

    def record(value: Any) -> Any:
        seen.append(value.to_messages())
        return value

    model = GenericFakeChatModel(messages=iter(["Coriander is a herb.", "You asked about it."]))
    return prompt | RunnableLambda(record) | model


def test_runnable_with_message_history_sees_the_first_turn(rag: RAGFlow, memory_id: str) -> None:
    seen: list[list[BaseMessage]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chain = RunnableWithMessageHistory(
            _chain(seen),
            lambda session_id: history(rag, memory_id, session_id),
            input_messages_key="question",
            history_messages_key="history",
        )
    config: Any = {"configurable": {"session_id": "two-turns"}}
    assert chain.invoke({"question": "What is coriander?"}, config=config).content == (
        "Coriander is a herb."
    )
    chain.invoke({"question": "What did I ask?"}, config=config)
    assert [m.content for m in seen[1]] == [
        "What is coriander?",
        "Coriander is a herb.",
        "What did I ask?",
    ]
    stored = history(rag, memory_id, "two-turns").messages
    assert [(m.type, m.content) for m in stored] == [
        ("human", "What is coriander?"),
        ("ai", "Coriander is a herb."),
        ("human", "What did I ask?"),
        ("ai", "You asked about it."),
    ]


async def test_runnable_with_message_history_async(rag: RAGFlow, memory_id: str) -> None:
    seen: list[list[BaseMessage]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chain = RunnableWithMessageHistory(
            _chain(seen),
            lambda session_id: history(rag, memory_id, session_id),
            input_messages_key="question",
            history_messages_key="history",
        )
    config: Any = {"configurable": {"session_id": "two-turns-async"}}
    await chain.ainvoke({"question": "What is coriander?"}, config=config)
    await chain.ainvoke({"question": "And again?"}, config=config)
    assert [m.content for m in seen[1]][:2] == ["What is coriander?", "Coriander is a herb."]


def test_connection_errors_and_settings(
    server: LocalRAGFlowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGFLOW_API_KEY", server.api_key)
    monkeypatch.setenv("RAGFLOW_BASE_URL", server.base_url)
    missing = RAGFlowChatMessageHistory("0" * 32, "s")  # key and URL from the environment
    with pytest.raises(NotFoundError, match="not found"):
        _ = missing.messages
    with pytest.raises(NotFoundError, match="None of the memories"):
        missing.add_messages([HumanMessage("hi")])
    assert server.api_key not in repr(missing)
    for bad in ({"memory_id": ""}, {"session_id": ""}, {"agent_id": ""}):
        kwargs = {"memory_id": "m", "session_id": "s", **bad}
        with pytest.raises(ValueError, match="must be a non-empty str"):
            RAGFlowChatMessageHistory(**kwargs)
    with LocalRAGFlowServer(emulate="0.22") as old:
        stale = RAGFlowChatMessageHistory("m", "s", api_key=old.api_key, base_url=old.base_url)
        with pytest.raises(RouteNotFoundError, match=r"Memories need RAGFlow v0\.24"):
            _ = stale.messages


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["", "\nAgent Response: ", "@langchain:json", "User Input: x", "@langchain:system"]
)
MESSAGE = st.builds(HumanMessage, content=TEXT) | st.builds(AIMessage, content=TEXT)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(MESSAGE, st.builds(SystemMessage, content=TEXT)), max_size=8))
def test_codec_round_trips_any_text(messages: list[BaseMessage]) -> None:
    contents = [f"User Input: {u}\nAgent Response: {a}" for u, a in to_turns(messages)]
    decoded = [m for content in contents for m in from_content(content)]
    assert shape(decoded) == shape(messages)
