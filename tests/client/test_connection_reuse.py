"""Streams hand their connection back to the pool: the next request pays no new handshake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.testing import LocalRAGFlowServer

pytestmark = pytest.mark.live

QUESTION = "How long does cold brew steep?"


@pytest.fixture(scope="module")
def chat_server() -> Iterator[tuple[LocalRAGFlowServer, str]]:
    with LocalRAGFlowServer() as server:
        rag = RAGFlow(api_key=server.api_key, base_url=server.base_url)
        dataset = rag.create_dataset("brewing")
        docs = dataset.upload_documents(
            [{"display_name": "brew.txt", "blob": b"Cold brew steeps for 12 to 24 hours."}]
        )
        dataset.parse_documents([d.id for d in docs], poll_interval=0.02)
        chat = rag.create_chat("barista", dataset_ids=[dataset.id])
        rag.close()
        yield server, chat.id


def test_sync_streams_reuse_one_connection(
    chat_server: tuple[LocalRAGFlowServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from urllib3.connection import HTTPConnection

    server, chat_id = chat_server
    sockets_opened = 0
    open_socket = HTTPConnection._new_conn

    def counting(connection: HTTPConnection) -> Any:  # also counts a pooled connection's reconnect
        nonlocal sockets_opened
        sockets_opened += 1
        return open_socket(connection)

    monkeypatch.setattr(HTTPConnection, "_new_conn", counting)
    with RAGFlow(api_key=server.api_key, base_url=server.base_url) as rag:
        session = rag.get_chat(chat_id).create_session()
        answers = [list(session.ask(QUESTION, stream=True))[-1] for _ in range(3)]
        completions = [
            list(rag.chat_completion(chat_id, QUESTION, stream=True))[-1] for _ in range(2)
        ]
        rag.list_datasets()
    assert all("12 to 24 hours" in answer.content for answer in answers)
    assert all("12 to 24 hours" in event.content for event in completions)
    assert sockets_opened == 1


async def test_async_streams_reuse_one_connection(
    chat_server: tuple[LocalRAGFlowServer, str],
) -> None:
    server, chat_id = chat_server
    async with AsyncRAGFlow(api_key=server.api_key, base_url=server.base_url) as rag:
        session = await (await rag.get_chat(chat_id)).create_session()
        pool = rag._transport.client._transport._pool
        seen: set[int] = set()
        for _ in range(3):
            last = None
            async for message in await session.ask(QUESTION, stream=True):
                last = message
            assert last is not None and "12 to 24 hours" in last.content
            seen.update(id(connection) for connection in pool.connections)
    assert len(seen) == 1
