"""LangChain retriever over RAGFlow's retrieval endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from ragflow_integrations.langchain._client import RAGFlowConnection
from ragflow_integrations.langchain._convert import chunks_to_documents, effective_condition
from ragflow_integrations.mapping import CALLER_ID_KEYS

SEARCH_PARAMS = (
    "dataset_ids",
    "document_ids",
    "k",
    "similarity_threshold",
    "vector_similarity_weight",
    "top_k",
    "rerank_id",
    "keyword",
    "highlight",
    "metadata_condition",
    "cross_languages",
    "use_kg",
)


class RAGFlowSearchParams(RAGFlowConnection):
    """The retrieval parameters shared by the retriever and the search tool."""

    dataset_ids: list[str] = Field(default_factory=list)
    """Datasets to search (required by the server)."""
    document_ids: list[str] | None = None
    """Restrict the search to these documents."""
    k: int = Field(default=4, ge=1)
    """Number of chunks to return (the page size; pages past 100 are fetched as needed)."""
    similarity_threshold: float = 0.2
    """Minimum similarity for a chunk to be returned."""
    vector_similarity_weight: float = 0.3
    """Weight of the vector score; the keyword score gets ``1 - weight``."""
    top_k: int = 1024
    """Size of the vector-search candidate pool (not the number of results: that is ``k``)."""
    rerank_id: str | None = None
    """Rerank model configured on the server, if any."""
    keyword: bool = False
    """Let the server's LLM extract keywords from the query."""
    highlight: bool = False
    """Ask for highlighted matches (``metadata["ragflow_highlight"]``)."""
    metadata_condition: dict[str, Any] | None = None
    """Document metadata filter ``{"logic": "and", "conditions": [...]}``."""
    cross_languages: list[str] | None = None
    """Translate the query into these languages before searching."""
    use_kg: bool = False
    """Add a knowledge-graph chunk when the dataset has a graph."""

    def _search_kwargs(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """Client ``retrieve`` keyword arguments, with per-call ``overrides`` applied."""
        unknown = sorted(set(overrides) - set(SEARCH_PARAMS))
        if unknown:
            raise TypeError(
                f"unknown search parameter(s) {unknown}; pass any of {list(SEARCH_PARAMS)}"
            )
        params = {name: getattr(self, name) for name in SEARCH_PARAMS}
        params.update(overrides)
        if not params["dataset_ids"]:
            raise ValueError("dataset_ids is empty: pass the ids of the datasets to search")
        k = int(params.pop("k"))
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        kwargs: dict[str, Any] = {
            "dataset_ids": list(params["dataset_ids"]),
            "similarity_threshold": params["similarity_threshold"],
            "vector_similarity_weight": params["vector_similarity_weight"],
            "top_k": params["top_k"],
            "keyword": params["keyword"],
            "highlight": params["highlight"],
            "use_kg": params["use_kg"],
            "page": 1,
            "page_size": k,
            "reference_metadata": {"include": True},
        }
        params["metadata_condition"] = effective_condition(params["metadata_condition"])
        optional = ("document_ids", "rerank_id", "metadata_condition", "cross_languages")
        for name in optional:
            if params[name]:
                kwargs[name] = params[name]
        return kwargs

    def _search(
        self,
        query: str,
        overrides: dict[str, Any],
        caller_keys: Sequence[str] = CALLER_ID_KEYS,
    ) -> list[Document]:
        kwargs = self._search_kwargs(overrides)
        chunks = self._sync_client.retrieve(query, **kwargs)
        return _to_documents(chunks, kwargs, caller_keys)

    async def _asearch(
        self,
        query: str,
        overrides: dict[str, Any],
        caller_keys: Sequence[str] = CALLER_ID_KEYS,
    ) -> list[Document]:
        kwargs = self._search_kwargs(overrides)
        chunks = await self._async_client.retrieve(query, **kwargs)
        return _to_documents(chunks, kwargs, caller_keys)


def _to_documents(
    chunks: Sequence[Any], kwargs: dict[str, Any], caller_keys: Sequence[str]
) -> list[Document]:
    top = list(chunks)[: kwargs["page_size"]]
    return chunks_to_documents(top, highlight=kwargs["highlight"], caller_keys=caller_keys)


class RAGFlowRetriever(RAGFlowSearchParams, BaseRetriever):
    """Retrieves chunks from RAGFlow datasets as LangChain ``Document``s.

    ``Document.id`` is the chunk id. The metadata holds the document's own metadata exactly as
    stored, and RAGFlow's values under the reserved ``ragflow_`` prefix: ``ragflow_chunk_id``,
    ``ragflow_document_id``, ``ragflow_document_name``, ``ragflow_dataset_id``, the scores
    (``ragflow_similarity``, ``ragflow_vector_similarity``, ``ragflow_term_similarity``),
    ``ragflow_positions``, ``ragflow_image_id``, ``ragflow_important_keywords``, the highlight when
    asked for (``ragflow_highlight``), and the id a document was stored under by
    ``RAGFlowVectorStore`` (``ragflow_langchain_id``). Chunks of older copies of one stored id
    (left by writers in several processes) are left out: only the newest copy's are returned.

    Every search parameter can be overridden per call: ``retriever.invoke(query, k=3)``.

    Example:
        .. code-block:: python

            retriever = RAGFlowRetriever(dataset_ids=["<dataset id>"], k=5)
            docs = retriever.invoke("What is RAGFlow?")
    """

    model_config = ConfigDict(extra="forbid")  # a misspelled option is an error

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return self._search(query, kwargs)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return await self._asearch(query, kwargs)
