"""RAGFlowChatMessageHistory as the conversation store of a LangGraph graph (local server, live).

The pattern of LangChain's guide "How to use BaseChatMessageHistory with LangGraph": no
checkpointer; the model node reads the thread's history, calls the model on it plus the new
input, and stores the input and the answer. The state holds the current turn only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, MessagesState, StateGraph
from pydantic import Field

from ragflow_integrations import RAGFlow
from ragflow_integrations.langchain import RAGFlowChatMessageHistory
from ragflow_integrations.testing import LocalRAGFlowServer

# unlike RunnableWithMessageHistory, this path uses nothing LangChain has deprecated
pytestmark = pytest.mark.filterwarnings("error::langchain_core._api.LangChainDeprecationWarning")


class EchoChatModel(BaseChatModel):
    """Answers with what it was sent (count and newest text) and keeps every input it saw."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append(list(messages))
        text = f"{messages[-1].content} (seen {len(messages)})"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])


def chat_graph(rag: RAGFlow, memory_id: str, model: BaseChatModel, *, asynchronous: bool) -> Any:
    """A one-node chat graph whose conversation lives in the memory, one history per thread."""

    def history(config: RunnableConfig) -> RAGFlowChatMessageHistory:
        thread_id = config["configurable"]["thread_id"]
        return RAGFlowChatMessageHistory(memory_id, thread_id, client=rag)

    def respond(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        stored = history(config)
        answer = model.invoke([*stored.messages, *state["messages"]])
        stored.add_messages([*state["messages"], answer])
        return {"messages": [answer]}

    async def arespond(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        stored = history(config)
        answer = await model.ainvoke([*await stored.aget_messages(), *state["messages"]])
        await stored.aadd_messages([*state["messages"], answer])
        return {"messages": [answer]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", arespond if asynchronous else respond)
    builder.add_edge(START, "model")
    return builder.compile()


def config(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id}}


def typed(messages: Sequence[BaseMessage]) -> list[tuple[str, Any]]:
    return [(m.type, m.content) for m in messages]


FIRST, SECOND = "What is coriander?", "What did I ask?"
CONVERSATION = [
    ("human", FIRST),
    ("ai", f"{FIRST} (seen 1)"),
    ("human", SECOND),
    ("ai", f"{SECOND} (seen 3)"),
]


def test_second_turn_sees_the_first_and_the_memory_holds_both(
    rag: RAGFlow, memory_id: str, server: LocalRAGFlowServer
) -> None:
    model = EchoChatModel()
    graph = chat_graph(rag, memory_id, model, asynchronous=False)
    first = graph.invoke({"messages": [HumanMessage(FIRST)]}, config("t-1"))
    graph.invoke({"messages": [HumanMessage("another thread")]}, config("t-2"))
    second = graph.invoke({"messages": [HumanMessage(SECOND)]}, config("t-1"))

    assert typed(first["messages"]) == CONVERSATION[:2]
    assert typed(second["messages"]) == CONVERSATION[2:]  # the state holds this turn only
    assert typed(model.seen[2]) == CONVERSATION[:3]  # the model got turn one, in order
    assert typed(RAGFlowChatMessageHistory(memory_id, "t-1", client=rag).messages) == CONVERSATION
    other_process = RAGFlowChatMessageHistory(
        memory_id, "t-1", api_key=server.api_key, base_url=server.base_url
    )
    assert typed(other_process.messages) == CONVERSATION
    assert typed(RAGFlowChatMessageHistory(memory_id, "t-2", client=rag).messages) == [
        ("human", "another thread"),
        ("ai", "another thread (seen 1)"),
    ]


async def test_second_turn_sees_the_first_async(
    rag: RAGFlow, memory_id: str, server: LocalRAGFlowServer
) -> None:
    model = EchoChatModel()
    graph = chat_graph(rag, memory_id, model, asynchronous=True)
    first = await graph.ainvoke({"messages": [HumanMessage(FIRST)]}, config("t-1"))
    await graph.ainvoke({"messages": [HumanMessage("another thread")]}, config("t-2"))
    second = await graph.ainvoke({"messages": [HumanMessage(SECOND)]}, config("t-1"))

    assert typed(first["messages"]) == CONVERSATION[:2]
    assert typed(second["messages"]) == CONVERSATION[2:]
    assert typed(model.seen[2]) == CONVERSATION[:3]
    other_process = RAGFlowChatMessageHistory(
        memory_id, "t-1", api_key=server.api_key, base_url=server.base_url
    )
    assert typed(await other_process.aget_messages()) == CONVERSATION
    assert typed(other_process.messages) == CONVERSATION


async def test_a_conversation_goes_on_across_graphs(rag: RAGFlow, memory_id: str) -> None:
    """A new graph (a restarted application, here an async one) continues the stored thread."""
    chat_graph(rag, memory_id, EchoChatModel(), asynchronous=False).invoke(
        {"messages": [HumanMessage(FIRST)]}, config("t")
    )
    model = EchoChatModel()
    graph = chat_graph(rag, memory_id, model, asynchronous=True)
    await graph.ainvoke({"messages": [HumanMessage(SECOND)]}, config("t"))
    assert typed(model.seen[0]) == CONVERSATION[:3]
    assert typed(RAGFlowChatMessageHistory(memory_id, "t", client=rag).messages) == CONVERSATION


def test_clear_starts_the_thread_afresh(rag: RAGFlow, memory_id: str) -> None:
    model = EchoChatModel()
    graph = chat_graph(rag, memory_id, model, asynchronous=False)
    for question in (FIRST, SECOND):
        graph.invoke({"messages": [HumanMessage(question)]}, config("t"))
    RAGFlowChatMessageHistory(memory_id, "t", client=rag).clear()
    result = graph.invoke({"messages": [HumanMessage("Hello again")]}, config("t"))
    assert typed(model.seen[-1]) == [("human", "Hello again")]
    assert typed(result["messages"]) == [("human", "Hello again"), ("ai", "Hello again (seen 1)")]
    assert typed(RAGFlowChatMessageHistory(memory_id, "t", client=rag).messages) == typed(
        result["messages"]
    )


async def test_aclear_starts_the_thread_afresh(rag: RAGFlow, memory_id: str) -> None:
    model = EchoChatModel()
    graph = chat_graph(rag, memory_id, model, asynchronous=True)
    for question in (FIRST, SECOND):
        await graph.ainvoke({"messages": [HumanMessage(question)]}, config("t"))
    await RAGFlowChatMessageHistory(memory_id, "t", client=rag).aclear()
    result = await graph.ainvoke({"messages": [HumanMessage("Hello again")]}, config("t"))
    assert typed(model.seen[-1]) == [("human", "Hello again")]
    assert typed(result["messages"]) == [("human", "Hello again"), ("ai", "Hello again (seen 1)")]
    stored = await RAGFlowChatMessageHistory(memory_id, "t", client=rag).aget_messages()
    assert typed(stored) == typed(result["messages"])
