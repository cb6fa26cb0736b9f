"""A RAGFlow dataset as a LangChain ``VectorStore``: the ingestion sink.

RAGFlow stores, chunks and embeds documents itself. Each LangChain ``Document`` becomes one RAGFlow
document (a ``.txt`` file) whose ``meta_fields`` hold the LangChain metadata plus the caller's id
(under ``id_key``), so ``get_by_ids``/``delete`` work with the caller's ids and
``langchain_core.indexing.index()`` can deduplicate and clean up.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, cast

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from pydantic import SecretStr

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations._metadata_filters import and_conditions, from_dict_filter
from ragflow_integrations.ingest import (
    IngestItem,
    aingest_documents,
    ingest_documents,
    to_meta_fields,
)
from ragflow_integrations.langchain._client import ClientFactory
from ragflow_integrations.langchain.retrievers import RAGFlowRetriever

DEFAULT_ID_KEY = "langchain_id"
DEFAULT_K = 4  # results per search when neither the call nor ``search_kwargs`` gives ``k``
_NEW_DATASET = "<created by from_texts>"
ID_LOOKUP_BATCH = 40  # caller ids per document-list filter (keeps the URL short)
_NO_VECTOR_SEARCH = (
    "RAGFlowVectorStore cannot search by vector: RAGFlow embeds and searches on the server "
    "with the dataset's embedding model; use similarity_search with a query text"
)
_NO_MMR = (
    "RAGFlowVectorStore has no max-marginal-relevance search: RAGFlow returns no embeddings to "
    "diversify on; use similarity_search (search_type='similarity'), or a rerank model on the "
    "server (search_kwargs={'rerank_id': ...})"
)
_DELETE_NEEDS_IDS = (
    "pass the ids to delete; to empty the dataset use the client's "
    "DataSet.delete_documents(delete_all=True)"
)


class RAGFlowVectorStore(VectorStore):
    """Writes LangChain documents into a RAGFlow dataset and searches it.

    ``add_documents`` uploads each document, starts parsing and waits for it (``parse_timeout``
    seconds, with a progress bar unless ``show_progress=False``); a parse failure raises
    ``DocumentParseError`` naming the document. Adding an id that already exists replaces that
    document. ``embeddings`` is None: the server embeds with the dataset's model.

    Metadata values must be strings or numbers (or lists of them) for RAGFlow; other values are
    stored as JSON text.

    Example:
        .. code-block:: python

            store = RAGFlowVectorStore("<dataset id>")
            store.add_documents([Document(page_content="...", metadata={"source": "a.md"})],
                                ids=["a"])
            store.similarity_search("question", k=3)
    """

    def __init__(
        self,
        dataset_id: str,
        *,
        id_key: str = DEFAULT_ID_KEY,
        parse_timeout: float = 600.0,
        poll_interval: float = 1.0,
        show_progress: bool = True,
        batch_size: int = 32,
        search_kwargs: dict[str, Any] | None = None,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: SecretStr | str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str = True,
    ) -> None:
        if not dataset_id:
            raise ValueError("dataset_id is empty: pass a dataset id or use from_documents()")
        self.dataset_id = dataset_id
        self.id_key = id_key
        self.parse_timeout = parse_timeout
        self.poll_interval = poll_interval
        self.show_progress = show_progress
        self.batch_size = batch_size
        self.search_kwargs = dict(search_kwargs or {})
        self._clients = ClientFactory(
            client=client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )

    @property
    def embeddings(self) -> Embeddings | None:
        """None: RAGFlow embeds on the server with the dataset's embedding model."""
        return None

    # ----------------------------------------------------------------- helpers

    def _items(
        self, documents: Sequence[Document], ids: Sequence[str | None] | None
    ) -> tuple[list[str], list[IngestItem]]:
        """The ids to return (one per document) and the files to upload.

        An id given twice in one call is uploaded once, with its last document (as adding the
        two one after the other would leave). Empty texts are refused: RAGFlow cannot store or
        return an empty file.
        """
        if ids is not None and len(ids) != len(documents):
            raise ValueError(f"got {len(ids)} ids for {len(documents)} documents")
        final_ids = [
            str(
                ids[i]
                if ids is not None and ids[i] is not None
                else doc.id
                if doc.id is not None
                else uuid.uuid4()
            )
            for i, doc in enumerate(documents)
        ]
        empty = [
            doc_id for doc_id, doc in zip(final_ids, documents, strict=True) if not doc.page_content
        ]
        if empty:
            raise ValueError(
                f"document(s) {empty} have an empty page_content: RAGFlow cannot store an empty "
                "file; leave them out or give them text (nothing was uploaded)"
            )
        latest = dict(zip(final_ids, documents, strict=True))  # a repeated id: the last wins
        items = [
            IngestItem(
                name=f"{doc_id}.txt",
                blob=doc.page_content.encode("utf-8"),
                meta_fields={**to_meta_fields(doc.metadata), self.id_key: doc_id},
            )
            for doc_id, doc in latest.items()
        ]
        return final_ids, items

    def _id_filter(self, ids: Sequence[str]) -> dict[str, Any]:
        return {
            "metadata_condition": {
                "logic": "and",
                "conditions": [
                    {"name": self.id_key, "comparison_operator": "in", "value": list(ids)}
                ],
            }
        }

    def _matches(self, documents: Iterable[Any], ids: Sequence[str]) -> dict[str, list[Any]]:
        wanted = set(ids)
        found: dict[str, list[Any]] = {}
        for document in documents:
            caller_id = (document.meta_fields or {}).get(self.id_key)
            if caller_id in wanted:
                found.setdefault(str(caller_id), []).append(document)
        for versions in found.values():  # a parsed version first (a failed re-upload may exist)
            versions.sort(key=lambda d: d.run != "DONE")
        return found

    def _find(self, dataset: Any, ids: Sequence[str]) -> dict[str, list[Any]]:
        """RAGFlow documents per caller id (the server filter is verified client-side).

        The filter travels in the query string, so ids are looked up a batch at a time.
        """
        found: dict[str, list[Any]] = {}
        for batch in _batches(ids):
            found.update(self._matches(dataset.iter_documents(**self._id_filter(batch)), batch))
        return found

    async def _afind(self, dataset: Any, ids: Sequence[str]) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        for batch in _batches(ids):
            documents = [d async for d in dataset.iter_documents(**self._id_filter(batch))]
            found.update(self._matches(documents, batch))
        return found

    def _ingest_options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {
            "timeout": self.parse_timeout,
            "poll_interval": self.poll_interval,
            "show_progress": self.show_progress,
            "batch_size": int(kwargs.get("batch_size") or self.batch_size),
        }

    def _renamed(self, added: Sequence[Any], items: Sequence[IngestItem]) -> list[Any]:
        """Uploaded documents RAGFlow renamed (``a(1).txt``) because the old version existed."""
        wanted = {item.name for item in items}
        return [d for d in added if d.name not in wanted and self.id_key in d.meta_fields]

    def _to_langchain(self, caller_id: str, document: Any, blob: bytes) -> Document:
        """``blob`` is the stored text (empty for an empty file, which RAGFlow will not serve)."""
        metadata = dict(document.meta_fields or {})
        metadata.pop(self.id_key, None)
        return Document(id=caller_id, page_content=blob.decode("utf-8"), metadata=metadata)

    def _retriever(
        self, k: int | None, kwargs: dict[str, Any], *, async_: bool = False
    ) -> tuple[RAGFlowRetriever, dict[str, Any]]:
        """A retriever and its parameters: ``search_kwargs``, then the call's (``k`` included:
        the call's when given, else ``search_kwargs["k"]``, else 4)."""
        clients: dict[str, Any] = (
            {"async_client": self._clients.async_} if async_ else {"client": self._clients.sync}
        )
        retriever = RAGFlowRetriever(dataset_ids=[self.dataset_id], **clients)
        overrides = {**self.search_kwargs, **kwargs}
        if "filter" in overrides:  # LangChain's dict filter, as RAGFlow's metadata_condition
            overrides["metadata_condition"] = and_conditions(
                overrides.get("metadata_condition"), from_dict_filter(overrides.pop("filter"))
            )
        if k is not None:
            overrides["k"] = k
        overrides.setdefault("k", DEFAULT_K)
        return retriever, overrides

    def _search_result(self, doc: Document) -> tuple[Document, float]:
        metadata = dict(doc.metadata)
        caller_id = metadata.pop(self.id_key, None)
        metadata["chunk_id"] = doc.id
        score = float(metadata.get("similarity") or 0.0)
        result = Document(
            id=str(caller_id) if caller_id is not None else doc.id,
            page_content=doc.page_content,
            metadata=metadata,
        )
        return result, score

    # -------------------------------------------------------------- sync API

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Upload, parse and wait for ``documents``; return their ids (``ids=`` or ``doc.id``).

        Documents whose id already exists are replaced (the old version is deleted once the new
        one has parsed, so a failed parse leaves the old one in place and readable through
        ``get_by_ids``; ``delete`` removes every version).
        """
        if not documents:
            return []
        ids, items = self._items(documents, kwargs.get("ids"))
        dataset = self._clients.sync.get_dataset(id=self.dataset_id)
        stale = [d.id for docs in self._find(dataset, ids).values() for d in docs]
        added = ingest_documents(dataset, items, **self._ingest_options(kwargs))
        if stale:  # replaced only once the new versions parsed
            dataset.delete_documents(ids=stale)
            for document in self._renamed(added, items):
                document.update({"name": f"{document.meta_fields[self.id_key]}.txt"})
        return ids

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete the documents stored under the caller ids ``ids`` (unknown ids are ignored)."""
        if ids is None:
            raise ValueError(_DELETE_NEEDS_IDS)
        dataset = self._clients.sync.get_dataset(id=self.dataset_id)
        targets = [d.id for docs in self._find(dataset, ids).values() for d in docs]
        if targets:
            dataset.delete_documents(ids=targets)
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The stored documents for the caller ids, in the order asked (missing ids skipped)."""
        dataset = self._clients.sync.get_dataset(id=self.dataset_id)
        found = self._find(dataset, ids)
        return [
            self._to_langchain(i, found[i][0], _download(found[i][0])) for i in ids if i in found
        ]

    def similarity_search_with_score(
        self, query: str, k: int | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Chunks most similar to ``query`` with RAGFlow's hybrid similarity (0..1).

        ``Document.id`` is the caller id of the stored document the chunk came from
        (``metadata["chunk_id"]`` is the chunk). Keyword arguments are retriever parameters
        (``similarity_threshold``, ``metadata_condition``, ...) and ``filter``, a LangChain dict
        filter on the documents' metadata: ``{"topic": "tea"}``, ``{"year": {"$gte": 2020}}``
        (``$eq $ne $gt $gte $lt $lte $in $nin $contains``), ``{"$and": [...]}`` /
        ``{"$or": [...]}``, sent as RAGFlow's ``metadata_condition`` (one flat AND or OR: other
        forms raise ``ValueError``; string comparisons are case-insensitive, as RAGFlow's).
        """
        retriever, overrides = self._retriever(k, kwargs)
        return [self._search_result(doc) for doc in retriever._search(query, overrides)]

    def similarity_search(self, query: str, k: int | None = None, **kwargs: Any) -> list[Document]:
        """Chunks most similar to ``query`` (see :meth:`similarity_search_with_score`)."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, **kwargs)]

    def _select_relevance_score_fn(self) -> Any:
        return lambda score: score

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = DEFAULT_K, **kwargs: Any
    ) -> list[Document]:
        """Not supported: RAGFlow embeds the query itself (use :meth:`similarity_search`)."""
        raise NotImplementedError(_NO_VECTOR_SEARCH)

    async def asimilarity_search_by_vector(
        self, embedding: list[float], k: int = DEFAULT_K, **kwargs: Any
    ) -> list[Document]:
        """Not supported: RAGFlow embeds the query itself (use :meth:`asimilarity_search`)."""
        raise NotImplementedError(_NO_VECTOR_SEARCH)

    def max_marginal_relevance_search(self, *args: Any, **kwargs: Any) -> list[Document]:
        """Not supported: RAGFlow returns no vectors to diversify on."""
        raise NotImplementedError(_NO_MMR)

    async def amax_marginal_relevance_search(self, *args: Any, **kwargs: Any) -> list[Document]:
        """Not supported: RAGFlow returns no vectors to diversify on."""
        raise NotImplementedError(_NO_MMR)

    def max_marginal_relevance_search_by_vector(self, *args: Any, **kwargs: Any) -> list[Document]:
        """Not supported: RAGFlow returns no vectors to diversify on."""
        raise NotImplementedError(_NO_MMR)

    async def amax_marginal_relevance_search_by_vector(
        self, *args: Any, **kwargs: Any
    ) -> list[Document]:
        """Not supported: RAGFlow returns no vectors to diversify on."""
        raise NotImplementedError(_NO_MMR)

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[Any, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> RAGFlowVectorStore:
        """Create a store over ``dataset_id`` (or a new dataset named ``dataset_name``) and add."""
        store, new_dataset = cls._for_new_data(embedding, kwargs)
        if new_dataset is not None:
            name, dataset_kwargs = new_dataset
            store.dataset_id = store._clients.sync.create_dataset(name, **dataset_kwargs).id
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    def from_documents(
        cls, documents: list[Document], embedding: Embeddings | None = None, **kwargs: Any
    ) -> RAGFlowVectorStore:
        """Like :meth:`from_texts` for ``Document``s (their ids kept); no ``embedding`` needed."""
        return super().from_documents(documents, cast("Embeddings", embedding), **kwargs)

    @classmethod
    def _for_new_data(
        cls, embedding: Embeddings | None, kwargs: dict[str, Any]
    ) -> tuple[RAGFlowVectorStore, tuple[str, dict[str, Any]] | None]:
        """A store from ``from_texts`` kwargs, and the dataset to create when none was named."""
        if embedding is not None:
            warnings.warn(
                "RAGFlowVectorStore ignores `embedding`: the server embeds with the dataset's "
                "embedding model (choose it with dataset_kwargs={'embedding_model': ...})",
                stacklevel=3,
            )
        dataset_id = kwargs.pop("dataset_id", None)
        dataset_name = kwargs.pop("dataset_name", None) or f"langchain_{uuid.uuid4().hex[:12]}"
        dataset_kwargs = dict(kwargs.pop("dataset_kwargs", None) or {})
        if dataset_id is not None:
            return cls(dataset_id, **kwargs), None
        return cls(_NEW_DATASET, **kwargs), (dataset_name, dataset_kwargs)

    # ------------------------------------------------------------- async API

    async def aadd_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Async twin of :meth:`add_documents`."""
        if not documents:
            return []
        ids, items = self._items(documents, kwargs.get("ids"))
        dataset = await self._clients.async_.get_dataset(id=self.dataset_id)
        stale = [d.id for docs in (await self._afind(dataset, ids)).values() for d in docs]
        added = await aingest_documents(dataset, items, **self._ingest_options(kwargs))
        if stale:
            await dataset.delete_documents(ids=stale)
            for document in self._renamed(added, items):
                await document.update({"name": f"{document.meta_fields[self.id_key]}.txt"})
        return ids

    async def adelete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Async twin of :meth:`delete`."""
        if ids is None:
            raise ValueError(_DELETE_NEEDS_IDS)
        dataset = await self._clients.async_.get_dataset(id=self.dataset_id)
        targets = [d.id for docs in (await self._afind(dataset, ids)).values() for d in docs]
        if targets:
            await dataset.delete_documents(ids=targets)
        return True

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Async twin of :meth:`get_by_ids`."""
        dataset = await self._clients.async_.get_dataset(id=self.dataset_id)
        found = await self._afind(dataset, ids)
        return [
            self._to_langchain(i, found[i][0], await _adownload(found[i][0]))
            for i in ids
            if i in found
        ]

    async def asimilarity_search_with_score(
        self, query: str, k: int | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async twin of :meth:`similarity_search_with_score`."""
        retriever, overrides = self._retriever(k, kwargs, async_=True)
        return [self._search_result(doc) for doc in await retriever._asearch(query, overrides)]

    async def asimilarity_search(
        self, query: str, k: int | None = None, **kwargs: Any
    ) -> list[Document]:
        """Async twin of :meth:`similarity_search`."""
        pairs = await self.asimilarity_search_with_score(query, k, **kwargs)
        return [doc for doc, _ in pairs]

    @classmethod
    async def afrom_documents(
        cls, documents: list[Document], embedding: Embeddings | None = None, **kwargs: Any
    ) -> RAGFlowVectorStore:
        """Async twin of :meth:`from_documents`."""
        return await super().afrom_documents(documents, cast("Embeddings", embedding), **kwargs)

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[Any, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> RAGFlowVectorStore:
        """Async twin of :meth:`from_texts`."""
        store, new_dataset = cls._for_new_data(embedding, kwargs)
        if new_dataset is not None:
            name, dataset_kwargs = new_dataset
            dataset = await store._clients.async_.create_dataset(name, **dataset_kwargs)
            store.dataset_id = dataset.id
        await store.aadd_texts(texts, metadatas, ids=ids)
        return store


def _download(document: Any) -> bytes:
    # RAGFlow refuses to serve an empty file ("This file is empty"); one stored before empty
    # texts were refused reads back as ""
    return document.download() if document.size else b""


async def _adownload(document: Any) -> bytes:
    return await document.download() if document.size else b""


def _batches(ids: Sequence[str], size: int = ID_LOOKUP_BATCH) -> list[list[str]]:
    unique = list(dict.fromkeys(str(i) for i in ids))
    return [unique[start : start + size] for start in range(0, len(unique), size)]
