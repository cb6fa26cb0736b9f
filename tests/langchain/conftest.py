"""Fixtures of the chat-history tests: a local server per module, one client, a fresh memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ragflow_integrations import RAGFlow
from ragflow_integrations.testing import LocalRAGFlowServer

MODELS = ("BAAI/bge-small-en-v1.5@Builtin", "glm-4-flash@ZHIPU-AI")
"""The embedding and chat models of a memory (the local server has both)."""


@pytest.fixture(scope="module")
def server() -> Iterator[LocalRAGFlowServer]:
    with LocalRAGFlowServer() as running:
        yield running


@pytest.fixture(scope="module")
def rag(server: LocalRAGFlowServer) -> Iterator[RAGFlow]:
    """One client (one pool) for every test of a module, closed at its end."""
    with RAGFlow(api_key=server.api_key, base_url=server.base_url) as client:
        yield client


@pytest.fixture
def new_memory(rag: RAGFlow) -> Callable[[list[str]], str]:
    """Creates a memory of the given types and returns its id."""
    return lambda types: rag.create_memory("history", types, *MODELS).id


@pytest.fixture
def memory_id(new_memory: Callable[[list[str]], str]) -> str:
    """A new raw memory for each test."""
    return new_memory(["raw"])
