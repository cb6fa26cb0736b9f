"""Helpers that let one test body drive the sync and the async client."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterable
from typing import Any

from ragflow_integrations import AsyncRAGFlow, RAGFlow

DOCS = {
    "ragflow.txt": b"RAGFlow is an open-source RAG engine based on deep document understanding.\n"
    b"It offers a streamlined RAG workflow for businesses of any scale.",
    "cats.txt": b"Cats are small carnivorous mammals.\nThey sleep for most of the day.",
}


async def ready(value: Any) -> Any:
    """Await coroutines (async client), pass values through (sync client)."""
    if inspect.isawaitable(value):
        return await value
    return value


async def drain(values: Iterable[Any] | AsyncIterator[Any]) -> list[Any]:
    """Consume a sync or async iterator."""
    if hasattr(values, "__aiter__"):
        return [v async for v in values]  # type: ignore[union-attr]
    return list(values)  # type: ignore[arg-type]


def make_client(kind: str, base_url: str, api_key: str, **kwargs: Any) -> RAGFlow | AsyncRAGFlow:
    if kind == "sync":
        return RAGFlow(api_key=api_key, base_url=base_url, **kwargs)
    return AsyncRAGFlow(api_key=api_key, base_url=base_url, **kwargs)


async def close(client: RAGFlow | AsyncRAGFlow) -> None:
    if isinstance(client, AsyncRAGFlow):
        await client.aclose()
    else:
        client.close()


async def parsed_dataset(rag: Any, poll_interval: float, name: str = "kb") -> tuple[Any, list[Any]]:
    """A dataset with the two small documents, parsed."""
    ds = await ready(rag.create_dataset(name=name))
    docs = await ready(
        ds.upload_documents([{"display_name": n, "blob": b} for n, b in DOCS.items()])
    )
    docs = await ready(ds.parse_documents([d.id for d in docs], poll_interval=poll_interval))
    return ds, docs
