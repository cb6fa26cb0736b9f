"""RAGFlowMemoryBlock: LlamaIndex long-term memory in a RAGFlow memory (local server, live)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.llms import ChatMessage, MockLLM
from llama_index.core.memory import Memory

from ragflow_integrations import RAGFlow, RouteNotFoundError
from ragflow_integrations.llama_index import RAGFlowMemoryBlock
from ragflow_integrations.llama_index.memory import to_turns
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live
MODELS = ("BAAI/bge-small-en-v1.5@Builtin", "glm-4-flash@ZHIPU-AI")
PAST = [
    ChatMessage(role="user", content="My favourite herb is coriander."),
    ChatMessage(role="assistant", content="Noted: coriander is your favourite herb."),
    ChatMessage(role="user", content="I live in Lyon, near the river."),
    ChatMessage(role="assistant", content="Lyon is a lovely city with two rivers."),
]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalRAGFlowServer]:
    with LocalRAGFlowServer() as running:
        yield running


@pytest.fixture(scope="module")
def rag(server: LocalRAGFlowServer) -> Iterator[RAGFlow]:
    """One client (one pool) for every block of this module, closed at its end."""
    with RAGFlow(api_key=server.api_key, base_url=server.base_url) as client:
        yield client


@pytest.fixture
def memory_id(rag: RAGFlow) -> str:
    return rag.create_memory("llama-memory", ["raw"], *MODELS).id


def block(rag: RAGFlow, memory_id: str, **fields: Any) -> RAGFlowMemoryBlock:
    return RAGFlowMemoryBlock(memory_id=memory_id, client=rag, **fields)


def small_memory(session_id: str, memory_block: RAGFlowMemoryBlock) -> Memory:
    """A short-term memory that flushes all but the latest turn into the block."""
    return Memory.from_defaults(
        session_id=session_id,
        token_limit=60,
        chat_history_token_ratio=0.5,
        token_flush_size=10,
        memory_blocks=[memory_block],
    )


def test_flushed_messages_become_ragflow_turns_and_come_back(rag: RAGFlow, memory_id: str) -> None:
    memory = small_memory("user-1", block(rag, memory_id))
    memory.put_messages(PAST)
    stored = rag.get_recent_messages([memory_id])
    assert [(m.session_id, m.agent_id, m.content) for m in stored] == [
        (
            "user-1",
            "llama_index",
            "User Input: My favourite herb is coriander.\n"
            "Agent Response: Noted: coriander is your favourite herb.",
        )
    ]
    messages = memory.get(input="Which herb do I like?")
    assert messages[0].role == "system" and "favourite herb is coriander" in str(
        messages[0].content
    )
    assert [m.content for m in messages[1:]] == [PAST[2].content, PAST[3].content]
    assert "coriander" not in str(memory.get(input="What about rivers?")[0].content)

    later = small_memory("user-1-next-week", block(rag, memory_id))
    assert "coriander" in str(later.get(input="Which herb?")[0].content)  # across sessions
    scoped = small_memory("user-2", block(rag, memory_id, session_scoped=True))
    assert scoped.get(input="Which herb?") == []
    other_agent = small_memory("user-1", block(rag, memory_id, agent_id="someone-else"))
    assert other_agent.get(input="Which herb?") == []


def test_chat_engine_recalls_an_earlier_session(rag: RAGFlow, memory_id: str) -> None:
    first = SimpleChatEngine.from_defaults(
        llm=MockLLM(), memory=small_memory("monday", block(rag, memory_id))
    )
    first.chat("Remember that my cat is called Pixel.")
    first.chat("Also that I prefer green tea over coffee.")
    first.chat("Thanks, that is all for today.")
    second = SimpleChatEngine.from_defaults(
        llm=MockLLM(), memory=small_memory("tuesday", block(rag, memory_id))
    )
    answer = str(second.chat("What is my cat called?"))  # MockLLM echoes its prompt
    assert "<RAGFlowMemory>" in answer and "my cat is called Pixel" in answer


async def test_chat_engine_async(rag: RAGFlow, memory_id: str) -> None:
    first = SimpleChatEngine.from_defaults(
        llm=MockLLM(), memory=small_memory("async-1", block(rag, memory_id))
    )
    await first.achat("My flight to Oslo leaves on Friday.")
    await first.achat("Please book a taxi to the airport.")
    await first.achat("Thank you, goodbye.")
    assert any(m.session_id == "async-1" for m in rag.get_recent_messages([memory_id]))
    second = SimpleChatEngine.from_defaults(
        llm=MockLLM(), memory=small_memory("async-2", block(rag, memory_id))
    )
    answer = str(await second.achat("When does my flight to Oslo leave?"))
    assert "flight to Oslo leaves on Friday" in answer


async def test_direct_put_and_get(rag: RAGFlow, memory_id: str) -> None:
    memory_block = block(rag, memory_id, top_n=1)
    await memory_block.aput(PAST)  # no session given: the default one
    assert {m.session_id for m in rag.get_recent_messages([memory_id])} == {"llama_index"}
    recalled = await memory_block.aget([ChatMessage(role="user", content="herb or river?")])
    assert recalled.count("User Input:") == 1  # top_n
    assert await memory_block.aget([]) == ""


def test_to_turns_pairs_user_and_assistant_text() -> None:
    messages = [
        ChatMessage(role="assistant", content="Welcome!"),
        ChatMessage(role="system", content="rules"),
        ChatMessage(role="user", content="Find flights"),
        ChatMessage(role="assistant", content=""),  # a tool call
        ChatMessage(role="tool", content="3 flights"),
        ChatMessage(role="assistant", content="I found three."),
        ChatMessage(role="assistant", content="Want one?"),
        ChatMessage(role="user", content="No"),
    ]
    assert to_turns(messages) == [
        ("", "Welcome!"),
        ("Find flights", "I found three.\nWant one?"),
        ("No", ""),
    ]


async def test_errors(server: LocalRAGFlowServer) -> None:
    with pytest.raises(TypeError, match="unexpected keyword"):
        RAGFlowMemoryBlock(memory_id="m", api_key="k", base_url=server.base_url, colour="red")
    with pytest.raises(ValueError, match="memory_id is empty"):
        RAGFlowMemoryBlock(memory_id="", api_key="k", base_url=server.base_url)
    with LocalRAGFlowServer(emulate="0.22") as old:
        stale = RAGFlowMemoryBlock(memory_id="m", api_key=old.api_key, base_url=old.base_url)
        with pytest.raises(RouteNotFoundError, match=r"Memories need RAGFlow v0\.24"):
            await stale.aget([ChatMessage(role="user", content="anything")])
