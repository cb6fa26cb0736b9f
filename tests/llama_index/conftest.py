"""Fixtures for the LlamaIndex adapter tests: clients and a small corpus built inside each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from llama_index_corpus import Corpus, build_corpus

from ragflow_integrations import AsyncRAGFlow, RAGFlow


@pytest.fixture
def client(ragflow_server: Any) -> Iterator[RAGFlow]:
    with RAGFlow(
        api_key=ragflow_server.api_key, base_url=ragflow_server.base_url, max_retries=0
    ) as ragflow:
        yield ragflow


@pytest.fixture
async def aclient(ragflow_server: Any) -> AsyncIterator[AsyncRAGFlow]:
    async with AsyncRAGFlow(
        api_key=ragflow_server.api_key, base_url=ragflow_server.base_url, max_retries=0
    ) as ragflow:
        yield ragflow


@pytest.fixture
def corpus(client: RAGFlow, poll_interval: float, request: pytest.FixtureRequest) -> Corpus:
    return build_corpus(client, f"li-{request.node.name}"[:100], poll_interval)
