"""``RAGFlowIndex``: a RAGFlow dataset as a LlamaIndex managed index (the ingestion sink).

Modelled on LlamaCloud's managed index: RAGFlow chunks and embeds on the server, so the index takes
whole ``Document``s, uploads each one's text as a ``.txt`` file whose ``meta_fields`` carry the
document's metadata plus, under the reserved ``ragflow_`` prefix, its ``id_``
(``ragflow_ref_doc_id``), its hash and a write stamp, starts parsing and waits (with a deadline)
until the server has chunked it. Queries go through :class:`RAGFlowRetriever`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.chat_engine.types import BaseChatEngine, ChatMode
from llama_index.core.data_structs.data_structs import IndexDict
from llama_index.core.indices.managed.base import BaseManagedIndex
from llama_index.core.llms.utils import LLMType
from llama_index.core.schema import BaseNode, Document, TransformComponent
from llama_index.core.storage.docstore.types import RefDocInfo
from llama_index.core.storage.storage_context import StorageContext

from ragflow_integrations import (
    AsyncDataSet,
    AsyncDocument,
    AsyncRAGFlow,
    DataSet,
    NotFoundError,
    RAGFlow,
)
from ragflow_integrations import Document as RAGFlowDocument
from ragflow_integrations._copies import (
    afind_copies,
    arename_quietly,
    find_copies,
    lock_keys,
    rename_quietly,
    stamped,
)
from ragflow_integrations._id_locks import WRITE_LOCKS
from ragflow_integrations.ingest import IngestItem, aingest_documents, ingest_documents
from ragflow_integrations.llama_index._clients import ClientPair
from ragflow_integrations.llama_index.retrievers import RAGFlowRetriever
from ragflow_integrations.mapping import (
    EXCLUDED_EMBED_KEY,
    EXCLUDED_LLM_KEY,
    REF_DOC_HASH_KEY,
    REF_DOC_ID_KEY,
    caller_id,
    document_metadata,
    newest_copy,
    split_stored,
    stored_meta_fields,
)

logger = logging.getLogger(__name__)


_RETRIEVER_ARGS = frozenset(
    {
        "document_ids",
        "similarity_top_k",
        "similarity_threshold",
        "vector_similarity_weight",
        "top_k",
        "rerank_id",
        "keyword",
        "highlight",
        "metadata_condition",
        "filters",
        "cross_languages",
        "use_kg",
        "include_document_metadata",
        "callback_manager",
        "verbose",
    }
)
_NODE_LEVEL = (
    "RAGFlow parses, chunks and embeds documents on the server, so a RAGFlowIndex works on whole "
    "documents: "
)


class RAGFlowIndex(BaseManagedIndex):
    """A RAGFlow dataset used as a LlamaIndex index.

    Args:
        dataset_id: The dataset to use. Or ``dataset_name`` (looked up by exact name; created when
            ``create_if_missing=True``, with ``dataset_kwargs`` passed to ``create_dataset``).
        client / async_client / api_key / base_url: how to reach RAGFlow (env fallback
            ``RAGFLOW_API_KEY`` / ``RAGFLOW_BASE_URL``).
        timeout / max_retries / verify: options of the clients the index builds itself (as in
            ``RAGFlow(...)``); with ``client=`` set them on that client instead.
        parse_timeout: Deadline in seconds for the server to parse each insert batch
            (``ParseTimeoutError`` after it).
        poll_interval: Seconds between parse-status polls.
        show_progress: Show a progress bar while waiting for parsing.
        batch_size: Documents uploaded per request.

    The constructor and :meth:`from_documents` look the dataset up with the sync client. Inside a
    running event loop use ``await RAGFlowIndex.acreate(...)`` / ``await
    RAGFlowIndex.afrom_documents(...)`` (same arguments), which go through the async client.
    """

    _dataset: DataSet

    def __init__(
        self,
        dataset_id: str | None = None,
        *,
        dataset_name: str | None = None,
        create_if_missing: bool = False,
        dataset_kwargs: dict[str, Any] | None = None,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str | None = None,
        parse_timeout: float = 600.0,
        poll_interval: float = 1.0,
        show_progress: bool = False,
        batch_size: int = 32,
        callback_manager: CallbackManager | None = None,
        storage_context: StorageContext | None = None,
        _resolve: bool = True,
    ) -> None:
        # _resolve=False (private, for acreate): no request; the caller sets the dataset after.
        if (dataset_id is None) == (dataset_name is None):
            raise ValueError("pass exactly one of dataset_id= or dataset_name=")
        self._clients = ClientPair(
            client=client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )
        self._parse_timeout = parse_timeout
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._async_dataset: AsyncDataSet | None = None
        self._async_dataset_client: AsyncRAGFlow | None = None
        if _resolve:
            self._dataset = self._resolve_dataset(
                dataset_id, dataset_name, create_if_missing, dataset_kwargs or {}
            )
        super().__init__(
            index_struct=IndexDict(),
            storage_context=storage_context,
            callback_manager=callback_manager,
            show_progress=show_progress,
        )

    def _resolve_dataset(
        self,
        dataset_id: str | None,
        dataset_name: str | None,
        create_if_missing: bool,
        dataset_kwargs: dict[str, Any],
    ) -> DataSet:
        client = self._clients.sync
        if dataset_id is not None:
            return client.get_dataset(id=dataset_id)
        assert dataset_name is not None
        try:
            return client.get_dataset(name=dataset_name)
        except NotFoundError as exc:
            if not create_if_missing:
                raise _suggest_create(exc) from exc
        return client.create_dataset(name=dataset_name, **dataset_kwargs)

    async def _aresolve_dataset(
        self,
        dataset_id: str | None,
        dataset_name: str | None,
        create_if_missing: bool,
        dataset_kwargs: dict[str, Any],
    ) -> None:
        """Async twin of :meth:`_resolve_dataset`; sets the async and the sync dataset."""
        client = self._clients.async_
        dataset: AsyncDataSet
        if dataset_id is not None:
            dataset = await client.get_dataset(id=dataset_id)
        else:
            assert dataset_name is not None
            try:
                dataset = await client.get_dataset(name=dataset_name)
            except NotFoundError as exc:
                if not create_if_missing:
                    raise _suggest_create(exc) from exc
                dataset = await client.create_dataset(name=dataset_name, **dataset_kwargs)
        self._async_dataset, self._async_dataset_client = dataset, client
        # the same dataset bound to the sync client, for the sync methods (no request)
        self._dataset = self._clients.sync.wrap("dataset", dataset.model_dump())

    # ----- pickling ---------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """The index with its dataset as data (a ``DataSet`` holds its client's pool and locks);
        the clients pickle as their configuration (server, key, options: keep pickles private)."""
        state = dict(self.__dict__)
        state["_dataset"] = self._dataset.model_dump()
        state["_async_dataset"] = state["_async_dataset_client"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle talking to the server and key the index was built with (no request)."""
        self.__dict__.update(state)
        self._dataset = self._clients.sync.wrap("dataset", state["_dataset"])

    # ----- identity ---------------------------------------------------------------------------
    @property
    def dataset_id(self) -> str:
        """The RAGFlow dataset behind this index."""
        return str(self._dataset.id)

    @property
    def dataset(self) -> DataSet:
        """The sync ``DataSet`` object behind this index."""
        return self._dataset

    @property
    def client(self) -> RAGFlow:
        return self._clients.sync

    @property
    def async_client(self) -> AsyncRAGFlow:
        return self._clients.async_

    async def _adataset(self) -> AsyncDataSet:
        """The async ``DataSet``, fetched once per async client (one per loop if built here)."""
        client = self._clients.async_
        if self._async_dataset is None or self._async_dataset_client is not client:
            self._async_dataset = await client.get_dataset(id=self.dataset_id)
            self._async_dataset_client = client
        return self._async_dataset

    # ----- construction -----------------------------------------------------------------------
    @classmethod
    def from_documents(  # type: ignore[override]
        cls,
        documents: Sequence[Document],
        storage_context: StorageContext | None = None,
        show_progress: bool = False,
        callback_manager: CallbackManager | None = None,
        transformations: list[TransformComponent] | None = None,
        **kwargs: Any,
    ) -> RAGFlowIndex:
        """Open (or with ``create_if_missing=True`` create) a dataset and ingest ``documents``.

        ``kwargs`` are the constructor's (``dataset_id`` or ``dataset_name``, client settings, ...).
        ``transformations`` are not supported: RAGFlow chunks with the dataset's ``chunk_method``.
        In a running event loop use :meth:`afrom_documents`.
        """
        _reject_transformations(transformations)
        index = cls(
            storage_context=storage_context,
            show_progress=show_progress,
            callback_manager=callback_manager,
            **kwargs,
        )
        index.insert_documents(documents)
        return index

    @classmethod
    async def acreate(
        cls,
        dataset_id: str | None = None,
        *,
        dataset_name: str | None = None,
        create_if_missing: bool = False,
        dataset_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> RAGFlowIndex:
        """Async twin of the constructor (same arguments): open, or with
        ``create_if_missing=True`` create, the dataset through the async client."""
        index = cls(dataset_id, dataset_name=dataset_name, _resolve=False, **kwargs)
        await index._aresolve_dataset(
            dataset_id, dataset_name, create_if_missing, dataset_kwargs or {}
        )
        return index

    @classmethod
    async def afrom_documents(
        cls,
        documents: Sequence[Document],
        transformations: list[TransformComponent] | None = None,
        **kwargs: Any,
    ) -> RAGFlowIndex:
        """Async twin of :meth:`from_documents`: :meth:`acreate`, then ``ainsert_documents``.

        ``kwargs`` are the constructor's (``storage_context``, ``show_progress`` and
        ``callback_manager`` included).
        """
        _reject_transformations(transformations)
        index = await cls.acreate(**kwargs)
        await index.ainsert_documents(documents)
        return index

    # ----- inserting --------------------------------------------------------------------------
    def insert(self, document: Document, **insert_kwargs: Any) -> None:
        """Upload one document, start parsing and wait until RAGFlow has chunked it."""
        self.insert_documents([document], **insert_kwargs)

    async def ainsert(self, document: Document, **insert_kwargs: Any) -> None:
        """Async twin of :meth:`insert`."""
        await self.ainsert_documents([document], **insert_kwargs)

    def insert_documents(self, documents: Sequence[Document], **insert_kwargs: Any) -> list[str]:
        """Upload several documents in batches, parse them, wait; return their RAGFlow ids.

        A document whose ``id_`` is already in the index replaces its old copy (an upsert, like
        :meth:`update_ref_doc`): every old copy is deleted once the new one has parsed. Writes of
        one ``id_`` in this process wait for each other, so they leave one copy.
        """
        with self._callback_manager.as_trace("insert"):
            return self._upsert_documents(_last_per_id(documents))

    async def ainsert_documents(
        self, documents: Sequence[Document], **insert_kwargs: Any
    ) -> list[str]:
        """Async twin of :meth:`insert_documents`."""
        with self._callback_manager.as_trace("ainsert"):
            return await self._aupsert_documents(_last_per_id(documents))

    def _upsert_documents(self, documents: Sequence[Document]) -> list[str]:
        """Upload and parse ``documents``, then delete their old copies (under their locks)."""
        if not documents:
            return []
        uploaded = self._upsert_items([_to_ingest_item(d) for d in documents])
        for document in documents:
            self.docstore.set_document_hash(document.id_, document.hash)
        return [str(d.id) for d in uploaded]

    async def _aupsert_documents(self, documents: Sequence[Document]) -> list[str]:
        """Async twin of :meth:`_upsert_documents`."""
        if not documents:
            return []
        uploaded = await self._aupsert_items([_to_ingest_item(d) for d in documents])
        for document in documents:
            await self.docstore.aset_document_hash(document.id_, document.hash)
        return [str(d.id) for d in uploaded]

    def _upsert_items(self, items: Sequence[IngestItem]) -> list[RAGFlowDocument]:
        """Upload ``items`` (each under its ``ref_doc_id``) holding their ids' locks; then delete
        every older copy of those ids."""
        ids = [_item_ref_doc_id(item) for item in items]
        with WRITE_LOCKS.hold(self._locks(ids)):
            return self._replace_items(items, self._copy_ids(ids))

    async def _aupsert_items(self, items: Sequence[IngestItem]) -> list[AsyncDocument]:
        """Async twin of :meth:`_upsert_items`."""
        ids = [_item_ref_doc_id(item) for item in items]
        async with WRITE_LOCKS.ahold(self._locks(ids)):
            return await self._areplace_items(items, await self._acopy_ids(ids))

    def _replace_items(
        self, items: Sequence[IngestItem], stale_ids: Sequence[str]
    ) -> list[RAGFlowDocument]:
        """Upload and parse ``items``; only then delete ``stale_ids`` (locks held by the caller).

        If uploading or parsing fails, the old copies stay searchable. A new copy the server had
        to rename (``name(1).txt``, its old copy still present) gets its name back afterwards.
        """
        if not items:
            return []
        uploaded = ingest_documents(self._dataset, stamped(items), **self._ingest_kwargs())
        if stale_ids:
            self._dataset.delete_documents(ids=list(stale_ids))
            for new_copy, name in _renamed(uploaded, items):
                rename_quietly(new_copy, name)
        return uploaded

    async def _areplace_items(
        self, items: Sequence[IngestItem], stale_ids: Sequence[str]
    ) -> list[AsyncDocument]:
        """Async twin of :meth:`_replace_items`."""
        if not items:
            return []
        dataset = await self._adataset()
        uploaded = await aingest_documents(dataset, stamped(items), **self._ingest_kwargs())
        if stale_ids:
            await dataset.delete_documents(ids=list(stale_ids))
            for new_copy, name in _renamed(uploaded, items):
                await arename_quietly(new_copy, name)
        return uploaded

    # ----- finding the copies of a ref_doc_id --------------------------------------------------
    def _locks(self, ref_doc_ids: Iterable[str]) -> list[Hashable]:
        return lock_keys(REF_DOC_ID_KEY, self.dataset_id, ref_doc_ids)

    def _copy_ids(self, ref_doc_ids: Sequence[str]) -> list[str]:
        """RAGFlow ids of every document stored for ``ref_doc_ids`` or having one as RAGFlow id.

        One filtered listing per 40 ids (whatever the dataset's size, on servers that filter by
        metadata), plus one lookup per id shaped like a RAGFlow id.
        """
        found = find_copies(self._dataset, REF_DOC_ID_KEY, ref_doc_ids)
        ids = [d.id for copies in found.values() for d in copies]
        for candidate in filter(_looks_like_ragflow_id, ref_doc_ids):
            with contextlib.suppress(NotFoundError):
                ids += [d.id for d in self._dataset.list_documents(id=candidate)]
        return list(dict.fromkeys(ids))

    async def _acopy_ids(self, ref_doc_ids: Sequence[str]) -> list[str]:
        """Async twin of :meth:`_copy_ids`."""
        dataset = await self._adataset()
        found = await afind_copies(dataset, REF_DOC_ID_KEY, ref_doc_ids)
        ids = [d.id for copies in found.values() for d in copies]
        for candidate in filter(_looks_like_ragflow_id, ref_doc_ids):
            with contextlib.suppress(NotFoundError):
                ids += [d.id for d in await dataset.list_documents(id=candidate)]
        return list(dict.fromkeys(ids))

    def upload_file(
        self,
        path: str | os.PathLike[str],
        *,
        ref_doc_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Upload a file as is (PDF, DOCX, HTML, ...): RAGFlow parses it; wait; return its id.

        ``ref_doc_id`` (default: the file name) is what :meth:`delete_ref_doc` takes later. A
        file uploaded again under the same ``ref_doc_id`` replaces the old copy once parsed.
        """
        item = _file_item(path, ref_doc_id, metadata, Path(path).read_bytes())
        (uploaded,) = self._upsert_items([item])
        return str(uploaded.id)

    async def aupload_file(
        self,
        path: str | os.PathLike[str],
        *,
        ref_doc_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Async twin of :meth:`upload_file` (the file is read in a worker thread, off the loop)."""
        blob = await asyncio.to_thread(Path(path).read_bytes)
        item = _file_item(path, ref_doc_id, metadata, blob)
        (uploaded,) = await self._aupsert_items([item])
        return str(uploaded.id)

    def _ingest_kwargs(self) -> dict[str, Any]:
        return {
            "timeout": self._parse_timeout,
            "poll_interval": self._poll_interval,
            "show_progress": self._show_progress,
            "batch_size": self._batch_size,
        }

    # ----- deleting and updating --------------------------------------------------------------
    def delete_ref_doc(
        self, ref_doc_id: str, delete_from_docstore: bool = False, **delete_kwargs: Any
    ) -> None:
        """Delete the RAGFlow document(s) uploaded for ``ref_doc_id`` (or with that RAGFlow id)."""
        with WRITE_LOCKS.hold(self._locks([ref_doc_id])):
            ids = self._copy_ids([ref_doc_id])
            if ids:
                self._dataset.delete_documents(ids=ids)
        if delete_from_docstore:
            self.docstore.delete_ref_doc(ref_doc_id, raise_error=False)
            self.docstore.delete_document(ref_doc_id, raise_error=False)

    async def adelete_ref_doc(
        self, ref_doc_id: str, delete_from_docstore: bool = False, **delete_kwargs: Any
    ) -> None:
        """Async twin of :meth:`delete_ref_doc`."""
        async with WRITE_LOCKS.ahold(self._locks([ref_doc_id])):
            ids = await self._acopy_ids([ref_doc_id])
            if ids:
                await (await self._adataset()).delete_documents(ids=ids)
        if delete_from_docstore:
            await self.docstore.adelete_ref_doc(ref_doc_id, raise_error=False)
            await self.docstore.adelete_document(ref_doc_id, raise_error=False)

    def update_ref_doc(self, document: Document, **update_kwargs: Any) -> None:
        """Replace the uploaded copy of ``document``: the old copy goes once the new one parsed."""
        self._upsert_documents([document])

    async def aupdate_ref_doc(self, document: Document, **update_kwargs: Any) -> None:
        """Async twin of :meth:`update_ref_doc`."""
        await self._aupsert_documents([document])

    def refresh_ref_docs(self, documents: Sequence[Document], **update_kwargs: Any) -> list[bool]:
        """Upload only new or changed documents; return one flag per document (True = uploaded).

        Change detection compares ``Document.hash`` (text and metadata) with the hash stored in the
        uploaded copy's ``meta_fields``, so it works across processes and machines. New and changed
        documents are uploaded in one batch; once they are parsed, the stale copies of the changed
        ones are deleted in one request. Extra copies of an unchanged document (e.g. left by
        writers in several processes) are deleted, keeping the oldest.
        """
        ids = [d.id_ for d in documents]
        with WRITE_LOCKS.hold(self._locks(ids)):
            stored = _stored_hashes(find_copies(self._dataset, REF_DOC_ID_KEY, ids))
            flags, stale, fresh, extra = _plan_refresh(documents, stored)
            self._replace_items([_to_ingest_item(d) for d in fresh], stale)
            if extra:
                self._dataset.delete_documents(ids=extra)
        for document in fresh:
            self.docstore.set_document_hash(document.id_, document.hash)
        return flags

    async def arefresh_ref_docs(
        self, documents: Sequence[Document], **update_kwargs: Any
    ) -> list[bool]:
        """Async twin of :meth:`refresh_ref_docs`."""
        ids = [d.id_ for d in documents]
        dataset = await self._adataset()
        async with WRITE_LOCKS.ahold(self._locks(ids)):
            stored = _stored_hashes(await afind_copies(dataset, REF_DOC_ID_KEY, ids))
            flags, stale, fresh, extra = _plan_refresh(documents, stored)
            await self._areplace_items([_to_ingest_item(d) for d in fresh], stale)
            if extra:
                await dataset.delete_documents(ids=extra)
        for document in fresh:
            await self.docstore.aset_document_hash(document.id_, document.hash)
        return flags

    @property
    def ref_doc_info(self) -> dict[str, RefDocInfo]:
        """Every document of the dataset: ``ref_doc_id`` (or RAGFlow id) -> chunk ids, metadata.

        The metadata is the document's own, exactly as stored, plus ``ragflow_document_id`` (the
        copy reads return: the newest), ``ragflow_document_name`` and ``ragflow_run``. Should a
        ``ref_doc_id`` have several copies, ``metadata["ragflow_document_ids"]`` lists all (the
        one read first) and ``node_ids`` all their chunks.
        """
        groups: dict[str, list[RAGFlowDocument]] = {}
        for document in self._dataset.iter_documents():
            key = caller_id(document.meta_fields, REF_DOC_ID_KEY) or str(document.id)
            groups.setdefault(key, []).append(document)
        info: dict[str, RefDocInfo] = {}
        for key, copies in groups.items():
            read = newest_copy(copies)
            ordered = [read, *(d for d in copies if d is not read)]
            metadata = document_metadata(read)
            metadata["ragflow_document_ids"] = [d.id for d in ordered]
            metadata["ragflow_run"] = read.run
            node_ids = [str(chunk.id) for d in ordered for chunk in d.iter_chunks()]
            info[key] = RefDocInfo(node_ids=node_ids, metadata=metadata)
        return info

    # ----- node-level operations RAGFlow does not have -----------------------------------------
    def _insert(self, nodes: Sequence[BaseNode], **insert_kwargs: Any) -> None:
        raise NotImplementedError(
            _NODE_LEVEL + "pre-chunked nodes cannot be inserted. Insert Documents with insert() / "
            "from_documents(), or add chunks to an existing RAGFlow document with "
            "client.get_dataset(id=...).list_documents(id=...)[0].add_chunk(content)."
        )

    def insert_nodes(self, nodes: Sequence[BaseNode], **insert_kwargs: Any) -> None:
        self._insert(nodes)

    async def ainsert_nodes(self, nodes: Sequence[BaseNode], **insert_kwargs: Any) -> None:
        self._insert(nodes)

    def _delete_node(self, node_id: str, **delete_kwargs: Any) -> None:
        raise NotImplementedError(
            _NODE_LEVEL + "nodes cannot be deleted one by one through the index. Use "
            "delete_ref_doc(ref_doc_id) to remove a document and all its chunks, or "
            "Document.delete_chunks(chunk_ids=[...]) on the RAGFlow client."
        )

    def delete_nodes(
        self, node_ids: list[str], delete_from_docstore: bool = False, **delete_kwargs: Any
    ) -> None:
        self._delete_node(node_ids[0] if node_ids else "")

    async def adelete_nodes(
        self, node_ids: list[str], delete_from_docstore: bool = False, **delete_kwargs: Any
    ) -> None:
        self._delete_node(node_ids[0] if node_ids else "")

    def _build_index_from_nodes(self, nodes: Sequence[BaseNode], **build_kwargs: Any) -> IndexDict:
        raise NotImplementedError(
            _NODE_LEVEL + "an index cannot be built from nodes. Use RAGFlowIndex.from_documents()."
        )

    # ----- querying ---------------------------------------------------------------------------
    def as_retriever(self, **kwargs: Any) -> BaseRetriever:
        """A :class:`RAGFlowRetriever` over this dataset (retriever options as keywords)."""
        dataset_ids = kwargs.pop("dataset_ids", None) or [self.dataset_id]
        retriever = RAGFlowRetriever(dataset_ids, client=self._clients.sync, **kwargs)
        retriever._clients = self._clients  # share the index's clients, async one included
        return retriever

    def as_query_engine(self, llm: LLMType | None = None, **kwargs: Any) -> BaseQueryEngine:
        """A ``RetrieverQueryEngine`` over :meth:`as_retriever`; the answer comes from ``llm``.

        Retriever options go to the retriever, the rest to ``RetrieverQueryEngine.from_args``.
        """
        from llama_index.core.llms.utils import resolve_llm
        from llama_index.core.query_engine.retriever_query_engine import RetrieverQueryEngine
        from llama_index.core.settings import Settings

        retriever_kwargs, engine_kwargs = _split_retriever_kwargs(kwargs)
        _reject_unknown(RetrieverQueryEngine.from_args, engine_kwargs, "as_query_engine")
        retriever = self.as_retriever(**retriever_kwargs)
        resolved = (
            resolve_llm(llm, callback_manager=self._callback_manager) if llm else Settings.llm
        )
        return RetrieverQueryEngine.from_args(retriever, llm=resolved, **engine_kwargs)

    def as_chat_engine(
        self,
        chat_mode: ChatMode = ChatMode.BEST,
        llm: LLMType | None = None,
        **kwargs: Any,
    ) -> BaseChatEngine:
        """A chat engine over this dataset.

        With ``chat_id=...`` the answer comes from that RAGFlow chat assistant (server-side session,
        :class:`RAGFlowChatEngine`). Otherwise a LlamaIndex chat engine of ``chat_mode`` runs on a
        local ``llm`` over :meth:`as_retriever`.
        """
        chat_id = kwargs.pop("chat_id", None)
        if chat_id is not None:
            from ragflow_integrations.llama_index.chat_engine import RAGFlowChatEngine

            engine = RAGFlowChatEngine(chat_id, client=self._clients.sync, **kwargs)
            engine._clients = self._clients  # share the index's clients, async one included
            return engine
        from llama_index.core.chat_engine import (
            CondensePlusContextChatEngine,
            CondenseQuestionChatEngine,
            ContextChatEngine,
            SimpleChatEngine,
        )
        from llama_index.core.llms.utils import resolve_llm
        from llama_index.core.settings import Settings

        resolved = (
            resolve_llm(llm, callback_manager=self._callback_manager) if llm else Settings.llm
        )
        retriever_kwargs, engine_kwargs = _split_retriever_kwargs(kwargs)
        factories: dict[ChatMode, Callable[..., Any]] = {
            ChatMode.CONDENSE_QUESTION: CondenseQuestionChatEngine.from_defaults,
            ChatMode.CONTEXT: ContextChatEngine.from_defaults,
            ChatMode.CONDENSE_PLUS_CONTEXT: CondensePlusContextChatEngine.from_defaults,
            ChatMode.BEST: CondensePlusContextChatEngine.from_defaults,
            ChatMode.SIMPLE: SimpleChatEngine.from_defaults,
        }
        factory = factories.get(chat_mode)
        if factory is not None:
            _reject_unknown(factory, engine_kwargs, "as_chat_engine")
        if chat_mode == ChatMode.CONDENSE_QUESTION:
            query_engine = self.as_query_engine(llm=resolved, **retriever_kwargs)
            return CondenseQuestionChatEngine.from_defaults(
                query_engine=query_engine, llm=resolved, **engine_kwargs
            )
        if chat_mode == ChatMode.CONTEXT:
            return ContextChatEngine.from_defaults(
                retriever=self.as_retriever(**retriever_kwargs), llm=resolved, **engine_kwargs
            )
        if chat_mode in (ChatMode.CONDENSE_PLUS_CONTEXT, ChatMode.BEST):
            return CondensePlusContextChatEngine.from_defaults(
                retriever=self.as_retriever(**retriever_kwargs), llm=resolved, **engine_kwargs
            )
        if chat_mode == ChatMode.SIMPLE:
            return SimpleChatEngine.from_defaults(llm=resolved, **engine_kwargs)
        raise ValueError(
            f"chat mode {chat_mode!r} is not available; use ChatMode.BEST, CONTEXT, "
            "CONDENSE_QUESTION, CONDENSE_PLUS_CONTEXT or SIMPLE, or pass chat_id= for a RAGFlow "
            "chat assistant (agents: llama_index.core.agent.workflow with RAGFlowToolSpec)"
        )


# ----- helpers (module level so sync and async share them) ----------------------------------------
_SAFE_NAME = re.compile(r"[^\w.\- ]+")


def _to_ingest_item(document: Document) -> IngestItem:
    """A LlamaIndex ``Document`` as a ``.txt`` upload carrying its metadata, id and hash.

    ``ValueError`` for metadata keys with the reserved ``ragflow_`` prefix.
    """
    package: dict[str, Any] = {REF_DOC_ID_KEY: document.id_, REF_DOC_HASH_KEY: document.hash}
    # the document's own prompt/embedding exclusions, restored on retrieved nodes
    if document.excluded_llm_metadata_keys:
        package[EXCLUDED_LLM_KEY] = list(document.excluded_llm_metadata_keys)
    if document.excluded_embed_metadata_keys:
        package[EXCLUDED_EMBED_KEY] = list(document.excluded_embed_metadata_keys)
    return IngestItem(
        name=_file_name(document),
        blob=document.get_content().encode("utf-8"),
        meta_fields=stored_meta_fields(
            document.metadata, package, what=f"Document {document.id_!r}:"
        ),
    )


def _item_ref_doc_id(item: IngestItem) -> str:
    return str(item.meta_fields[REF_DOC_ID_KEY])


def _suggest_create(exc: NotFoundError) -> NotFoundError:
    """The dataset-name lookup's ``NotFoundError`` with a hint at ``create_if_missing``."""
    return type(exc)(
        f"{exc.message}; pass create_if_missing=True to create it", data=exc.data, **exc.context()
    )


def _reject_transformations(transformations: list[TransformComponent] | None) -> None:
    if transformations:
        raise NotImplementedError(
            _NODE_LEVEL + "LlamaIndex transformations do not apply. Choose the server-side "
            "chunking with dataset_kwargs={'chunk_method': ..., 'parser_config': {...}}."
        )


def _file_item(
    path: str | os.PathLike[str],
    ref_doc_id: str | None,
    metadata: Mapping[str, Any] | None,
    blob: bytes,
) -> IngestItem:
    """The upload for the file at ``path`` whose content ``blob`` the caller has read."""
    file = Path(path)
    package = {REF_DOC_ID_KEY: ref_doc_id or file.name}
    meta_fields = stored_meta_fields(metadata or {}, package, what=f"file {file.name!r}:")
    return IngestItem(name=file.name, blob=blob, meta_fields=meta_fields)


def _file_name(document: Document) -> str:
    """A readable ``.txt`` file name: the document's ``file_name`` metadata or its id."""
    base = str(document.metadata.get("file_name") or document.id_)
    base = _SAFE_NAME.sub("_", base).strip() or "document"
    if not base.lower().endswith((".txt", ".md")):
        base += ".txt"
    return base[-200:]


_Doc = TypeVar("_Doc", RAGFlowDocument, AsyncDocument)


def _renamed(uploaded: Sequence[_Doc], items: Sequence[IngestItem]) -> list[tuple[_Doc, str]]:
    """Uploaded documents whose server-side name differs from the name they were sent with."""
    wanted = {_item_ref_doc_id(item): item.name for item in items}
    renamed = []
    for document in uploaded:
        name = wanted.get(caller_id(document.meta_fields, REF_DOC_ID_KEY) or "")
        if name and document.name != name:
            renamed.append((document, name))
    return renamed


_RAGFLOW_ID = re.compile(r"[0-9a-f]{32}")


def _looks_like_ragflow_id(value: str) -> bool:
    """RAGFlow document ids are 32 lower-case hex digits (``uuid1().hex``)."""
    return bool(_RAGFLOW_ID.fullmatch(value))


def _last_per_id(documents: Sequence[Document]) -> list[Document]:
    """One document per ``id_`` (the last one given), in first-seen order."""
    by_id: dict[str, Document] = {}
    for document in documents:
        by_id[document.id_] = document
    return list(by_id.values())


def _stored_hashes(
    copies: Mapping[str, Sequence[RAGFlowDocument | AsyncDocument]],
) -> dict[str, list[tuple[str, str | None]]]:
    """``ref_doc_id`` -> [(RAGFlow document id, stored hash)], in listing order (newest first)."""
    stored: dict[str, list[tuple[str, str | None]]] = {}
    for ref_doc_id, documents in copies.items():
        for document in documents:
            _, package = split_stored(document.meta_fields)
            stored.setdefault(ref_doc_id, []).append(
                (str(document.id), package.get(REF_DOC_HASH_KEY))
            )
    return stored


def _plan_refresh(
    documents: Sequence[Document], stored: dict[str, list[tuple[str, str | None]]]
) -> tuple[list[bool], list[str], list[Document], list[str]]:
    """Which documents to upload (flags), which stale RAGFlow copies to delete once they parsed,
    and which extra copies of unchanged documents to delete (all but the oldest, which has the
    intended name: the server renamed later copies ``name(1).txt``). Copies are newest first."""
    flags: list[bool] = []
    stale: list[str] = []
    fresh: list[Document] = []
    extra: list[str] = []
    for document in documents:
        copies = stored.get(document.id_, [])
        unchanged = bool(copies) and all(h == document.hash for _, h in copies)
        flags.append(not unchanged)
        if unchanged:
            extra.extend(ragflow_id for ragflow_id, _ in copies[:-1])
        else:
            stale.extend(ragflow_id for ragflow_id, _ in copies)
            fresh.append(document)
    return flags, stale, fresh, extra


def _reject_unknown(factory: Callable[..., Any], kwargs: Mapping[str, Any], method: str) -> None:
    """``TypeError`` for keywords neither the retriever nor ``factory`` names.

    LlamaIndex's ``from_args`` / ``from_defaults`` accept and drop any ``**kwargs``, so a typo
    (``similarty_top_k=``) or an option the engine does not have would otherwise vanish.
    """
    known = {
        name
        for name, parameter in inspect.signature(factory).parameters.items()
        if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
    }
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(
            f"{method}() got unexpected keyword argument(s) {unknown}: they are neither "
            f"RAGFlowRetriever options ({', '.join(sorted(_RETRIEVER_ARGS))}) nor parameters of "
            f"{factory.__qualname__} ({', '.join(sorted(known))})"
        )


def _split_retriever_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    retriever = {k: v for k, v in kwargs.items() if k in _RETRIEVER_ARGS or k == "dataset_ids"}
    engine = {k: v for k, v in kwargs.items() if k not in retriever}
    return retriever, engine
