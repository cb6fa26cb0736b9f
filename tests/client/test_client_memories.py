"""Memories and their messages (RAGFlow v0.24+) through the client, sync and async (cassettes)."""

from __future__ import annotations

from typing import Any

import pytest

from ragflow_integrations import (
    AsyncMemory,
    AsyncRAGFlow,
    BadRequestError,
    Memory,
    MemoryMessage,
    NotFoundError,
    RouteNotFoundError,
)

from .support import drain, ready

pytestmark = pytest.mark.vcr
MODELS = ("BAAI/bge-small-en-v1.5@Builtin", "glm-4-flash@ZHIPU-AI")


async def test_memory_lifecycle(rag: Any) -> None:
    memory = await ready(rag.create_memory("notes", ["raw"], *MODELS))
    assert isinstance(memory, AsyncMemory if isinstance(rag, AsyncRAGFlow) else Memory)
    assert (memory.name, memory.memory_type, memory.embd_id) == ("notes", ["raw"], MODELS[0])
    assert memory.memory_size == 5 * 1024 * 1024 and memory.forgetting_policy == "FIFO"
    other = await ready(rag.create_memory("notes", ("raw", "semantic"), *MODELS))
    assert other.name == "notes(1)" and other.memory_type == ["raw", "semantic"]

    assert [m.name for m in await ready(rag.list_memories())] == ["notes(1)", "notes"]
    assert [m.id for m in await ready(rag.list_memories(page=2, page_size=1))] == [memory.id]
    assert [m.id for m in await ready(rag.list_memories(memory_type=["semantic"]))] == [other.id]
    assert [m.id for m in await drain(rag.iter_memories(keywords="(1)"))] == [other.id]
    fetched = await ready(rag.get_memory(memory.id))
    assert fetched.id == memory.id and fetched.owner_name == "local"

    same = await ready(fetched.update({"description": "my notes", "temperature": 0.3}))
    assert same is fetched
    assert (fetched.description, fetched.temperature, fetched.owner_name) == (
        "my notes",
        0.3,
        "local",
    )
    with pytest.raises(BadRequestError, match="Temperature should be in range"):
        await ready(fetched.update({"temperature": 2}))
    with pytest.raises(BadRequestError, match="is not supported"):
        await ready(rag.create_memory("bad", ["graph"], *MODELS))
    with pytest.raises(TypeError, match="memory_type must be a list"):
        await ready(rag.create_memory("bad", "raw", *MODELS))

    await ready(rag.delete_memory(other.id))
    await ready(memory.delete())
    with pytest.raises(NotFoundError, match="not found"):
        await ready(rag.get_memory(memory.id))
    assert await ready(rag.list_memories()) == []


async def test_messages_recent_search_list_forget(rag: Any) -> None:
    memory = await ready(rag.create_memory("chat-log", ["raw"], *MODELS))
    await ready(rag.add_message([memory.id], "agent-1", "s1", "what is coriander?", "A herb."))
    await ready(memory.add_message("agent-1", "s10", "and cumin?", "A spice.", user_id="u7"))

    recent = await ready(rag.get_recent_messages([memory.id]))
    assert all(isinstance(m, MemoryMessage) for m in recent)
    assert [m.content for m in recent] == [
        "User Input: and cumin?\nAgent Response: A spice.",
        "User Input: what is coriander?\nAgent Response: A herb.",
    ]
    first = recent[1]
    assert (first.message_type, first.source_id, first.forget_at, first.status) == (
        "raw",
        None,
        None,
        True,
    )
    # RAGFlow matches session_id as a substring ("s1" is in "s10"); the client keeps exact ones
    exact = await ready(rag.get_recent_messages([memory.id], session_id="s1"))
    assert [m.session_id for m in exact] == ["s1"]
    assert [m.user_id for m in await ready(memory.get_recent_messages(limit=1))] == ["u7"]

    found = await ready(rag.search_messages("coriander herbs", [memory.id]))
    assert [m.message_id for m in found] == [first.message_id]
    assert [m.user_id for m in await ready(memory.search_messages("spice", user_id="u7"))] == ["u7"]
    assert await ready(memory.search_messages("spice", session_id="s1")) == []

    listed = await ready(rag.list_memory_messages(memory.id))
    assert [m.message_id for m in listed] == [m.message_id for m in recent]
    assert listed[0].content is None and listed[0].extract == [] and listed[0].task
    assert len(await ready(memory.list_messages(page=2, page_size=1))) == 1
    assert len(await drain(rag.iter_memory_messages(memory.id, keywords="s10"))) == 1
    assert len(await drain(memory.iter_messages(agent_id="agent-1"))) == 2

    content = await ready(rag.get_message_content(memory.id, first.message_id))
    assert content.content == first.content and len(content.content_embed or []) > 0
    assert (
        await ready(memory.get_message_content(first.message_id))
    ).message_id == first.message_id

    await ready(rag.update_message_status(memory.id, first.message_id, False))
    assert await ready(rag.search_messages("coriander", [memory.id])) == []
    await ready(memory.update_message_status(first.message_id, True))
    assert len(await ready(rag.search_messages("coriander", [memory.id]))) == 1

    await ready(rag.forget_message(memory.id, first.message_id))
    assert [m.user_id for m in await ready(rag.get_recent_messages([memory.id]))] == ["u7"]
    forgotten = await ready(memory.get_message_content(first.message_id))
    assert forgotten.forgotten and forgotten.forget_at
    await ready(memory.forget_message(recent[0].message_id))
    assert await ready(rag.get_recent_messages([memory.id])) == []
    assert len(await ready(memory.list_messages())) == 2  # forgotten messages stay listed

    with pytest.raises(NotFoundError, match="None of the memories"):
        await ready(rag.add_message(["0" * 32], "a", "s", "question", "answer"))
    with pytest.raises(NotFoundError, match="Message '999999'"):
        await ready(rag.get_message_content(memory.id, 999999))
    with pytest.raises(ValueError, match="limit must be an int from 1 to 100"):
        await ready(rag.get_recent_messages([memory.id], limit=101))
    with pytest.raises(TypeError, match="status must be True or False"):
        await ready(rag.update_message_status(memory.id, first.message_id, "false"))
    await ready(memory.delete())


@pytest.mark.emulate("0.22")
async def test_memories_need_a_newer_server(rag: Any) -> None:
    for call in (
        lambda: rag.list_memories(),
        lambda: rag.create_memory("notes", ["raw"], *MODELS),
        lambda: rag.add_message(["m1"], "a", "s", "question", "answer"),
        lambda: rag.get_recent_messages(["m1"]),
    ):
        with pytest.raises(RouteNotFoundError, match=r"Memories need RAGFlow v0\.24 or later"):
            await ready(call())
