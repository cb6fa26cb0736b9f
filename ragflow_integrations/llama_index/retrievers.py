"""``RAGFlowRetriever``: RAGFlow's ``POST /retrieval`` as a LlamaIndex retriever."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.vector_stores.types import MetadataFilters

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations.llama_index._clients import ClientPair
from ragflow_integrations.llama_index._filters import filters_to_metadata_condition
from ragflow_integrations.llama_index._nodes import chunks_to_nodes


class RAGFlowRetriever(BaseRetriever):
    """Retrieve chunks from one or more RAGFlow datasets as scored ``TextNode``s.

    Each result is a ``NodeWithScore`` whose node id is the RAGFlow chunk id and whose score is
    RAGFlow's hybrid ``similarity``. ``node.ref_doc_id`` (the ``SOURCE`` relationship) is the
    ``Document.id_`` the document was inserted with through :class:`RAGFlowIndex` (the key of
    ``index.ref_doc_info``), else the RAGFlow document id. ``node.metadata`` holds the document's
    own metadata exactly as stored plus RAGFlow's values under the reserved ``ragflow_`` prefix
    (``ragflow_document_name``, ``ragflow_document_id``, ``ragflow_dataset_id``,
    ``ragflow_similarity`` and the sub-scores, ``ragflow_positions``, ``ragflow_ref_doc_id``, ...),
    all but the document name hidden from the LLM prompt and from embeddings. Chunks of older
    copies of one ``ref_doc_id`` (left by writers in several processes) are left out.

    Args:
        dataset_ids: Datasets to search (RAGFlow requires at least one).
        document_ids: Restrict the search to these documents.
        similarity_top_k: How many chunks to return (paged past RAGFlow's 100-per-page cap).
        similarity_threshold: Minimum hybrid similarity (RAGFlow default 0.2).
        vector_similarity_weight: Weight of the vector score; the term score gets ``1 - weight``.
        top_k: Size of RAGFlow's vector candidate pool (not the result count).
        rerank_id: A rerank model configured on the server, e.g. ``"BAAI/bge-reranker-v2-m3"``.
        keyword: Let the server's LLM add extracted keywords to the query.
        highlight: Ask for highlighted matches (``metadata["ragflow_highlight"]``).
        filters: LlamaIndex ``MetadataFilters`` on the documents' metadata, translated to RAGFlow's
            ``metadata_condition`` (EQ, NE, GT, GTE, LT, LTE, IN, NIN, CONTAINS, TEXT_MATCH,
            TEXT_MATCH_INSENSITIVE, IS_EMPTY; AND or OR; not nested). ``ValueError`` for the rest.
            RAGFlow compares strings case-insensitively and ``YYYY-MM-DD`` strings as dates.
        metadata_condition: A raw RAGFlow metadata filter instead of ``filters`` (the server
            ignores either with ``document_ids``).
        cross_languages: Translate the query into these languages before searching.
        use_kg: Prepend a knowledge-graph chunk when the dataset has a graph.
        include_document_metadata: Ask the server for each chunk's document metadata
            (``meta_fields``), merged into ``node.metadata``.
        client / async_client: Ready clients; otherwise built from ``api_key`` / ``base_url``
            (falling back to ``RAGFLOW_API_KEY`` / ``RAGFLOW_BASE_URL``) with ``timeout`` /
            ``max_retries`` / ``verify`` (as in ``RAGFlow(...)``).
    """

    def __init__(
        self,
        dataset_ids: Sequence[str] | None = None,
        *,
        document_ids: Sequence[str] | None = None,
        similarity_top_k: int = 10,
        similarity_threshold: float = 0.2,
        vector_similarity_weight: float = 0.3,
        top_k: int = 1024,
        rerank_id: str | None = None,
        keyword: bool = False,
        highlight: bool = False,
        filters: MetadataFilters | None = None,
        metadata_condition: dict[str, Any] | None = None,
        cross_languages: Sequence[str] | None = None,
        use_kg: bool = False,
        include_document_metadata: bool = True,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        if not dataset_ids:
            raise ValueError(
                "RAGFlowRetriever needs dataset_ids (RAGFlow's retrieval requires at least one "
                "dataset); pass dataset_ids=[...] and optionally document_ids=[...]"
            )
        if isinstance(dataset_ids, str):
            raise TypeError("dataset_ids must be a list of ids, e.g. dataset_ids=[dataset.id]")
        if similarity_top_k < 1:
            raise ValueError(f"similarity_top_k must be at least 1, got {similarity_top_k}")
        if filters is not None and metadata_condition is not None:
            raise ValueError(
                "pass either filters=MetadataFilters(...) or metadata_condition={...}, not both "
                "(add the raw conditions to one of them)"
            )
        self.dataset_ids = list(dataset_ids)
        self.document_ids = list(document_ids) if document_ids else None
        self.similarity_top_k = similarity_top_k
        self.similarity_threshold = similarity_threshold
        self.vector_similarity_weight = vector_similarity_weight
        self.top_k = top_k
        self.rerank_id = rerank_id
        self.keyword = keyword
        self.highlight = highlight
        self.filters = filters
        self.metadata_condition = (
            filters_to_metadata_condition(filters) if filters is not None else metadata_condition
        )
        self.cross_languages = list(cross_languages) if cross_languages else None
        self.use_kg = use_kg
        self.include_document_metadata = include_document_metadata
        self._clients = ClientPair(
            client=client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieval_kwargs(self) -> dict[str, Any]:
        """The same arguments for the sync and the async call."""
        kwargs: dict[str, Any] = {
            "dataset_ids": self.dataset_ids,
            "document_ids": self.document_ids,
            "limit": self.similarity_top_k,
            "similarity_threshold": self.similarity_threshold,
            "vector_similarity_weight": self.vector_similarity_weight,
            "top_k": self.top_k,
            "rerank_id": self.rerank_id,
            "keyword": self.keyword,
            "highlight": self.highlight,
            "use_kg": self.use_kg,
        }
        if self.metadata_condition:
            kwargs["metadata_condition"] = self.metadata_condition
        if self.cross_languages:
            kwargs["cross_languages"] = self.cross_languages
        if self.include_document_metadata:
            kwargs["reference_metadata"] = {"include": True}
        return kwargs

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        chunks = self._clients.sync.retrieve(query_bundle.query_str, **self._retrieval_kwargs())
        return chunks_to_nodes(chunks[: self.similarity_top_k])

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        chunks = await self._clients.async_.retrieve(
            query_bundle.query_str, **self._retrieval_kwargs()
        )
        return chunks_to_nodes(chunks[: self.similarity_top_k])
