"""LangChain loader reading a RAGFlow dataset's parsed content back as ``Document``s."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any, Literal

from langchain_core.document_loaders import BaseLoader
from langchain_core.documents import Document
from pydantic import SecretStr

from ragflow_integrations import AsyncRAGFlow, RAGFlow
from ragflow_integrations._chunk_prefetch import adocuments_with_chunks
from ragflow_integrations.langchain._client import ClientFactory
from ragflow_integrations.langchain._convert import effective_condition
from ragflow_integrations.mapping import (
    CHUNK_COUNT_KEY,
    SCORE_KEYS,
    chunk_text,
    chunk_to_record,
    document_metadata,
)

LoadMode = Literal["chunks", "documents"]


class RAGFlowLoader(BaseLoader):
    """Loads the parsed chunks of a RAGFlow dataset, lazily and page by page.

    ``mode="chunks"`` yields one ``Document`` per chunk (``Document.id`` = chunk id);
    ``mode="documents"`` yields one per document (``Document.id`` = document id) whose text is
    its chunks joined in order with ``separator``. Metadata holds the document's own metadata
    (``meta_fields``) exactly as stored, and the package's values under the reserved ``ragflow_``
    prefix: ``ragflow_document_id``, ``ragflow_document_name``, ``ragflow_dataset_id``; chunk mode
    adds ``ragflow_chunk_id``, ``ragflow_important_keywords``, ``ragflow_positions`` and
    ``ragflow_image_id``, documents mode ``ragflow_chunk_count``. Only parsed documents are read
    unless ``parsed_only=False`` (unparsed ones have no chunks yet).

    ``document_ids`` and ``metadata_condition`` combine: only the listed documents that match the
    filter are read (listed ids outside the filter, or not in the dataset, are skipped).

    Example:
        .. code-block:: python

            loader = RAGFlowLoader("<dataset id>", mode="documents")
            for doc in loader.lazy_load():
                print(doc.metadata["ragflow_document_name"], len(doc.page_content))
    """

    def __init__(
        self,
        dataset_id: str,
        *,
        document_ids: Sequence[str] | None = None,
        metadata_condition: dict[str, Any] | None = None,
        mode: LoadMode = "chunks",
        separator: str = "\n\n",
        parsed_only: bool = True,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: SecretStr | str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str = True,
    ) -> None:
        if mode not in ("chunks", "documents"):
            raise ValueError(f'mode must be "chunks" or "documents", got {mode!r}')
        if not dataset_id:
            raise ValueError("dataset_id is empty: pass the id of the dataset to load")
        self.dataset_id = dataset_id
        self.document_ids = list(document_ids) if document_ids is not None else None
        self.metadata_condition = effective_condition(metadata_condition)
        self.mode: LoadMode = mode
        self.separator = separator
        self.parsed_only = parsed_only
        self._clients = ClientFactory(
            client=client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )

    def _list_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.metadata_condition:
            kwargs["metadata_condition"] = self.metadata_condition
        if self.parsed_only:
            kwargs["run"] = "DONE"
        return kwargs

    def _wanted(self, document: Any) -> bool:
        return not self.parsed_only or document.run == "DONE"

    def _in_given_order(self, listed: Iterable[Any]) -> list[Any]:
        """The listed documents named in ``document_ids``, in that order."""
        wanted = set(self.document_ids or ())
        found = {d.id: d for d in listed if d.id in wanted}
        return [found[i] for i in self.document_ids or () if i in found]

    def _iter_ragflow_documents(self) -> Iterator[Any]:
        dataset = self._clients.sync.get_dataset(id=self.dataset_id)
        if self.document_ids is None:
            documents: Iterable[Any] = dataset.iter_documents(**self._list_kwargs())
        elif self.metadata_condition:
            # the server ignores filters when listing by id: walk the filtered list instead
            documents = self._in_given_order(dataset.iter_documents(**self._list_kwargs()))
        else:
            documents = (d for i in self.document_ids for d in dataset.list_documents(id=i))
        yield from (d for d in documents if self._wanted(d))

    async def _aiter_ragflow_documents(self) -> AsyncIterator[Any]:
        dataset = await self._clients.async_.get_dataset(id=self.dataset_id)
        if self.document_ids is None:
            async for document in dataset.iter_documents(**self._list_kwargs()):
                if self._wanted(document):
                    yield document
            return
        if self.metadata_condition:
            wanted = set(self.document_ids)
            listed = [
                d async for d in dataset.iter_documents(**self._list_kwargs()) if d.id in wanted
            ]
            for document in self._in_given_order(listed):
                if self._wanted(document):
                    yield document
            return
        for document_id in self.document_ids:
            for document in await dataset.list_documents(id=document_id):
                if self._wanted(document):
                    yield document

    def lazy_load(self) -> Iterator[Document]:
        """Yield ``Document``s one page of chunks at a time."""
        for document in self._iter_ragflow_documents():
            if self.mode == "chunks":
                for chunk in document.iter_chunks():
                    yield _chunk_document(chunk, document)
            else:
                texts = [chunk_text(chunk.content) for chunk in document.iter_chunks()]
                yield _whole_document(document, self.separator.join(texts))

    async def alazy_load(self) -> AsyncIterator[Document]:
        """Async twin of :meth:`lazy_load` (native async client): the same ``Document``s in the
        same order, with the chunk requests of up to 16 documents ahead in flight at once."""
        async for document, chunks in adocuments_with_chunks(self._aiter_ragflow_documents()):
            if self.mode == "chunks":
                async for chunk in chunks:
                    yield _chunk_document(chunk, document)
            else:
                texts = [chunk_text(chunk.content) async for chunk in chunks]
                yield _whole_document(document, self.separator.join(texts))


def _chunk_document(chunk: Any, document: Any) -> Document:
    record = chunk_to_record(chunk, document_meta=dict(document.meta_fields or {}))
    metadata = {
        key: value
        for key, value in record.metadata.items()
        if not (key in SCORE_KEYS and value in (None, ""))
    }
    metadata.update(document_metadata(document))
    return Document(id=record.id, page_content=record.text, metadata=metadata)


def _whole_document(document: Any, text: str) -> Document:
    metadata = document_metadata(document)
    metadata[CHUNK_COUNT_KEY] = document.chunk_count
    return Document(id=document.id, page_content=text, metadata=metadata)
