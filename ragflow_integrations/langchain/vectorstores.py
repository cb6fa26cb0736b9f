"""A RAGFlow dataset as a LangChain ``VectorStore``: the ingestion sink.

RAGFlow stores, chunks and embeds documents itself. Each LangChain ``Document`` becomes one RAGFlow
document (a ``.txt`` file) whose ``meta_fields`` hold the LangChain metadata plus the caller's id
(under ``ragflow_langchain_id``) and a write stamp (``ragflow_written_at``), so
``get_by_ids``/``delete`` work with the caller's ids and ``langchain_core.indexing.index()`` can
deduplicate and clean up.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Sequence
from typing import Any, cast

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from pydantic import SecretStr

from ragflow_integrations import AsyncRAGFlow, NotFoundError, RAGFlow
from ragflow_integrations._copies import (
    ID_LOOKUP_BATCH,
    afind_copies,
    arename_quietly,
    find_copies,
    lock_keys,
    rename_quietly,
    stamped,
)
from ragflow_integrations._id_locks import WRITE_LOCKS
from ragflow_integrations._metadata_filters import and_conditions, from_dict_filter
from ragflow_integrations.ingest import IngestItem, aingest_documents, ingest_documents
from ragflow_integrations.langchain._client import ClientFactory
from ragflow_integrations.langchain.retrievers import RAGFlowRetriever
from ragflow_integrations.mapping import (
    LANGCHAIN_ID_KEY,
    PREFIX,
    SIMILARITY_KEY,
    WRITTEN_AT_KEY,
    newest_copy,
    split_stored,
    stored_meta_fields,
)

__all__ = ["DEFAULT_ID_KEY", "ID_LOOKUP_BATCH", "RAGFlowVectorStore"]

DEFAULT_ID_KEY = LANGCHAIN_ID_KEY
DEFAULT_K = 4  # results per search when neither the call nor ``search_kwargs`` gives ``k``
_NEW_DATASET = "<created by from_texts>"
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

    Concurrent writes of one id in one process (threads, tasks, sync and async mixed) run one
    after the other and leave one copy. Writers in several processes cannot share a lock: should
    they leave several copies of one id, reads return only the newest (``get_by_ids``, searches)
    and the next write of that id deletes every older copy.

    Metadata comes back exactly as stored. Values must be strings or numbers (or lists of them)
    for RAGFlow; other values are stored as JSON text. Keys starting with ``ragflow_`` are
    reserved for the values the package adds (``ragflow_document_id``, ``ragflow_similarity``,
    ...): ``add_documents`` refuses them with ``ValueError``.

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
        if not id_key.startswith(PREFIX):
            raise ValueError(
                f"id_key {id_key!r} must start with {PREFIX!r}, the prefix kept apart from your "
                f"own metadata keys (default {DEFAULT_ID_KEY!r})"
            )
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
                meta_fields=stored_meta_fields(
                    doc.metadata, {self.id_key: doc_id}, what=f"document {doc_id!r}:"
                ),
            )
            for doc_id, doc in latest.items()
        ]
        return final_ids, items

    def _locks(self, ids: Sequence[str]) -> list[Any]:
        return lock_keys(self.id_key, self.dataset_id, ids)

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
        """``blob`` is the stored text (empty for an empty file, which RAGFlow will not serve);
        the metadata is the caller's, exactly as stored."""
        user, _ = split_stored(document.meta_fields)
        return Document(id=caller_id, page_content=blob.decode("utf-8"), metadata=user)

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
        metadata.pop(WRITTEN_AT_KEY, None)
        score = float(metadata.get(SIMILARITY_KEY) or 0.0)
        result = Document(
            id=str(caller_id) if caller_id is not None else doc.id,
            page_content=doc.page_content,
            metadata=metadata,
        )
        return result, score

    # -------------------------------------------------------------- sync API

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Upload, parse and wait for ``documents``; return their ids (``ids=`` or ``doc.id``).

        Documents whose id already exists are replaced (every old copy is deleted once the new
        one has parsed, so a failed parse leaves the old one in place and readable through
        ``get_by_ids``; ``delete`` removes every copy). Writes of one id in this process wait for
        each other.
        """
        if not documents:
            return []
        ids, items = self._items(documents, kwargs.get("ids"))
        dataset = self._clients.sync.get_dataset(id=self.dataset_id)
        with WRITE_LOCKS.hold(self._locks(ids)):
            stale = [d.id for docs in self._find(dataset, ids).values() for d in docs]
            added = ingest_documents(dataset, stamped(items), **self._ingest_options(kwargs))
            if stale:  # replaced only once the new versions parsed
                dataset.delete_documents(ids=stale)
                for document in self._renamed(added, items):
                    rename_quietly(document, f"{document.meta_fields[self.id_key]}.txt")
        return ids

    def _find(self, dataset: Any, ids: Sequence[str]) -> dict[str, list[Any]]:
        return find_copies(dataset, self.id_key, ids)

    async def _afind(self, dataset: Any, ids: Sequence[str]) -> dict[str, list[Any]]:
        return await afind_copies(dataset, self.id_key, ids)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete the documents stored under the caller ids ``ids`` (unknown ids are ignored)."""
        if ids is None:
            raise ValueError(_DELETE_NEEDS_IDS)
        dataset = self._clients.sync.get_dataset(id=self.dataset_id)
        with WRITE_LOCKS.hold(self._locks(ids)):
            targets = [d.id for docs in self._find(dataset, ids).values() for d in docs]
            if targets:
                dataset.delete_documents(ids=targets)
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The stored documents for the caller ids, in the order asked (missing ids skipped).

        Should an id have several copies (written by several processes at once), the newest
        parsed one is returned.
        """
        dataset = self._clients.sync.get_dataset(id=self.dataset_id)
        found = {i: newest_copy(copies) for i, copies in self._find(dataset, ids).items()}
        return [self._to_langchain(i, found[i], _download(found[i])) for i in ids if i in found]

    def similarity_search_with_score(
        self, query: str, k: int | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Chunks most similar to ``query`` with RAGFlow's hybrid similarity (0..1).

        ``Document.id`` is the caller id of the stored document the chunk came from; the
        metadata is the document's own plus the chunk's under ``ragflow_`` keys
        (``ragflow_chunk_id``, ``ragflow_similarity``, ``ragflow_document_name``, ...). Chunks of
        older copies of one id (see the class docstring) are left out. Keyword arguments are
        retriever parameters (``similarity_threshold``, ``metadata_condition``, ...) and
        ``filter``, a LangChain dict filter on the documents' metadata: ``{"topic": "tea"}``,
        ``{"year": {"$gte": 2020}}`` (``$eq $ne $gt $gte $lt $lte $in $nin $contains``),
        ``{"$and": [...]}`` / ``{"$or": [...]}``, sent as RAGFlow's ``metadata_condition`` (one
        flat AND or OR: other forms raise ``ValueError``; string comparisons are
        case-insensitive, as RAGFlow's).
        """
        retriever, overrides = self._retriever(k, kwargs)
        found = retriever._search(query, overrides, caller_keys=[self.id_key])
        return [self._search_result(doc) for doc in found]

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
        """Create a store over a dataset and add ``texts``.

        The dataset is ``dataset_id=``, else the dataset named ``dataset_name=`` (reused when it
        exists, created with ``dataset_kwargs`` when it does not, so running the same code twice
        fills one dataset), else a new dataset with a generated name.
        """
        store, new_dataset = cls._for_new_data(embedding, kwargs)
        if new_dataset is not None:
            store.dataset_id = _open_or_create(store._clients.sync, *new_dataset)
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
    ) -> tuple[RAGFlowVectorStore, tuple[str, dict[str, Any], bool] | None]:
        """A store from ``from_texts`` kwargs, and the name (and creation options) of its dataset
        when no ``dataset_id`` was given."""
        if embedding is not None:
            warnings.warn(
                "RAGFlowVectorStore ignores `embedding`: the server embeds with the dataset's "
                "embedding model (choose it with dataset_kwargs={'embedding_model': ...})",
                stacklevel=3,
            )
        dataset_id = kwargs.pop("dataset_id", None)
        dataset_name = kwargs.pop("dataset_name", None)
        dataset_kwargs = dict(kwargs.pop("dataset_kwargs", None) or {})
        if dataset_id is not None:
            return cls(dataset_id, **kwargs), None
        reuse = dataset_name is not None
        name = dataset_name or f"langchain_{uuid.uuid4().hex[:12]}"
        return cls(_NEW_DATASET, **kwargs), (name, dataset_kwargs, reuse)

    # ------------------------------------------------------------- async API

    async def aadd_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Async twin of :meth:`add_documents`."""
        if not documents:
            return []
        ids, items = self._items(documents, kwargs.get("ids"))
        dataset = await self._clients.async_.get_dataset(id=self.dataset_id)
        async with WRITE_LOCKS.ahold(self._locks(ids)):
            stale = [d.id for docs in (await self._afind(dataset, ids)).values() for d in docs]
            added = await aingest_documents(dataset, stamped(items), **self._ingest_options(kwargs))
            if stale:
                await dataset.delete_documents(ids=stale)
                for document in self._renamed(added, items):
                    await arename_quietly(document, f"{document.meta_fields[self.id_key]}.txt")
        return ids

    async def adelete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Async twin of :meth:`delete`."""
        if ids is None:
            raise ValueError(_DELETE_NEEDS_IDS)
        dataset = await self._clients.async_.get_dataset(id=self.dataset_id)
        async with WRITE_LOCKS.ahold(self._locks(ids)):
            targets = [d.id for docs in (await self._afind(dataset, ids)).values() for d in docs]
            if targets:
                await dataset.delete_documents(ids=targets)
        return True

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Async twin of :meth:`get_by_ids`."""
        dataset = await self._clients.async_.get_dataset(id=self.dataset_id)
        copies = await self._afind(dataset, ids)
        found = {i: newest_copy(documents) for i, documents in copies.items()}
        return [
            self._to_langchain(i, found[i], await _adownload(found[i])) for i in ids if i in found
        ]

    async def asimilarity_search_with_score(
        self, query: str, k: int | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Async twin of :meth:`similarity_search_with_score`."""
        retriever, overrides = self._retriever(k, kwargs, async_=True)
        found = await retriever._asearch(query, overrides, caller_keys=[self.id_key])
        return [self._search_result(doc) for doc in found]

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
            store.dataset_id = await _aopen_or_create(store._clients.async_, *new_dataset)
        await store.aadd_texts(texts, metadatas, ids=ids)
        return store


def _download(document: Any) -> bytes:
    # RAGFlow refuses to serve an empty file ("This file is empty"); one stored before empty
    # texts were refused reads back as ""
    return document.download() if document.size else b""


async def _adownload(document: Any) -> bytes:
    return await document.download() if document.size else b""


def _dataset_lock(name: str) -> list[tuple[str, str]]:
    """One ``from_texts(dataset_name=...)`` at a time per name (two would create two datasets)."""
    return [("dataset_name", name)]


def _open_or_create(client: RAGFlow, name: str, options: dict[str, Any], reuse: bool) -> str:
    """The id of the dataset named ``name`` (when ``reuse``), else of a new one so named."""
    with WRITE_LOCKS.hold(_dataset_lock(name)):
        if reuse:
            try:
                return client.get_dataset(name=name).id
            except NotFoundError:
                pass
        return client.create_dataset(name, **options).id


async def _aopen_or_create(
    client: AsyncRAGFlow, name: str, options: dict[str, Any], reuse: bool
) -> str:
    """Async twin of :func:`_open_or_create`."""
    async with WRITE_LOCKS.ahold(_dataset_lock(name)):
        if reuse:
            try:
                return (await client.get_dataset(name=name)).id
            except NotFoundError:
                pass
        return (await client.create_dataset(name, **options)).id
