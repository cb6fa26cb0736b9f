"""``RAGFlowReader``: a dataset's parsed content as LlamaIndex ``Document``s."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal

from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
from llama_index.core.readers.base import BasePydanticReader
from llama_index.core.schema import Document as LIDocument
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo

from ragflow_integrations import (
    AsyncDataSet,
    AsyncDocument,
    AsyncRAGFlow,
    Chunk,
    DataSet,
    RAGFlow,
)
from ragflow_integrations import Document as RAGFlowDocument
from ragflow_integrations._chunk_prefetch import adocuments_with_chunks
from ragflow_integrations.llama_index._clients import (
    ClientPair,
    pickled_clients,
    reject_unknown,
)
from ragflow_integrations.llama_index._nodes import exclusions, source_of
from ragflow_integrations.mapping import (
    CHUNK_COUNT_KEY,
    DATASET_ID_KEY,
    DOCUMENT_ID_KEY,
    DOCUMENT_NAME_KEY,
    REF_DOC_ID_KEY,
    SCORE_KEYS,
    chunk_text,
    chunk_to_record,
    document_metadata,
)

_DONE = "DONE"


class RAGFlowReader(BasePydanticReader):
    """Read a RAGFlow dataset back as LlamaIndex ``Document``s, lazily and page by page.

    ``mode="documents"`` yields one ``Document`` per parsed RAGFlow document (its chunks joined in
    server order, id = the RAGFlow document id); ``mode="chunks"`` yields one ``Document`` per chunk
    (id = the chunk id). Memory stays constant in the dataset size: documents and
    chunks are fetched one page at a time (at most one document's chunks are held in
    ``documents`` mode). The async methods request the first chunk page of up to 16 documents
    ahead (same documents, same order), so they do not pay one round trip per document.

    The metadata is the document's own, exactly as stored, plus the package's values under the
    reserved ``ragflow_`` prefix (``ragflow_document_id``, ``ragflow_document_name``,
    ``ragflow_dataset_id``, ``ragflow_chunk_count`` in documents mode, ``ragflow_chunk_id`` and
    positions in chunks mode, and for documents inserted through ``RAGFlowIndex`` their
    ``ragflow_ref_doc_id``). ``ref_doc_id`` (the ``SOURCE`` relationship) is the ``Document.id_``
    a document was inserted with, when it was (in chunks mode otherwise the RAGFlow document id).

    Documents that are not parsed yet (``run != "DONE"``) are skipped unless ``only_parsed=False``.
    """

    model_config = ConfigDict(extra="forbid")

    is_remote: bool = True
    dataset_id: str = Field(description="The RAGFlow dataset to read.")
    mode: Literal["documents", "chunks"] = Field(
        default="documents", description="One Document per RAGFlow document, or per chunk."
    )
    document_ids: list[str] | None = Field(
        default=None, description="Read only these documents (default: every document)."
    )
    keywords: str | None = Field(
        default=None, description="Only documents whose name contains this text."
    )
    only_parsed: bool = Field(default=True, description="Skip documents not parsed yet.")
    chunk_separator: str = Field(
        default="\n\n", description="Joins a document's chunks in documents mode."
    )

    _clients: ClientPair = PrivateAttr()

    def __init__(
        self,
        dataset_id: str,
        *,
        client: RAGFlow | None = None,
        async_client: AsyncRAGFlow | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        verify: bool | str | None = None,
        **fields: Any,
    ) -> None:
        reject_unknown("RAGFlowReader", set(fields) - set(type(self).model_fields))
        super().__init__(dataset_id=dataset_id, **fields)
        self._clients = ClientPair(
            client=client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            verify=verify,
        )

    @classmethod
    def class_name(cls) -> str:
        return "RAGFlowReader"

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle with the server, key and options it was built with (not the environment's)."""
        clients = pickled_clients("RAGFlowReader", state)
        super().__setstate__(state)
        self._clients = clients

    # ----- sync -------------------------------------------------------------------------------
    def lazy_load_data(self, *args: Any, **load_kwargs: Any) -> Iterator[LIDocument]:
        """Yield the dataset's content one ``Document`` at a time."""
        dataset = self._clients.sync.get_dataset(id=self.dataset_id)
        for document in self._iter_selected(dataset):
            meta = _document_metadata(document)
            if self.mode == "chunks":
                for chunk in document.iter_chunks():
                    yield _chunk_document(chunk, meta)
            else:
                texts = [chunk_text(chunk.content) for chunk in document.iter_chunks()]
                yield _whole_document(document.id, texts, meta, self.chunk_separator)

    def _iter_selected(self, dataset: DataSet) -> Iterator[RAGFlowDocument]:
        if self.document_ids:
            for document_id in self.document_ids:
                for document in dataset.list_documents(id=document_id):
                    if self._wanted(document):
                        yield document
            return
        for document in dataset.iter_documents(keywords=self.keywords):
            if self._wanted(document):
                yield document

    # ----- async ------------------------------------------------------------------------------
    async def alazy_load_data(  # type: ignore[override]
        self, *args: Any, **load_kwargs: Any
    ) -> AsyncIterator[LIDocument]:
        """Async twin of :meth:`lazy_load_data`: an async generator over the same ``Document``s.

        Unlike the base class (which runs the sync loader in a thread), this uses the async client.
        """
        dataset = await self._clients.async_.get_dataset(id=self.dataset_id)
        async for document, chunks in adocuments_with_chunks(self._aiter_selected(dataset)):
            meta = _document_metadata(document)
            if self.mode == "chunks":
                async for chunk in chunks:
                    yield _chunk_document(chunk, meta)
            else:
                texts = [chunk_text(chunk.content) async for chunk in chunks]
                yield _whole_document(document.id, texts, meta, self.chunk_separator)

    async def _aiter_selected(self, dataset: AsyncDataSet) -> AsyncIterator[AsyncDocument]:
        if self.document_ids:
            for document_id in self.document_ids:
                for document in await dataset.list_documents(id=document_id):
                    if self._wanted(document):
                        yield document
            return
        async for document in dataset.iter_documents(keywords=self.keywords):
            if self._wanted(document):
                yield document

    async def aload_data(self, *args: Any, **load_kwargs: Any) -> list[LIDocument]:
        """Every ``Document`` of :meth:`alazy_load_data` in a list (native async, no thread)."""
        return [document async for document in self.alazy_load_data(*args, **load_kwargs)]

    def _wanted(self, document: RAGFlowDocument | AsyncDocument) -> bool:
        return not self.only_parsed or (document.run or "").upper() == _DONE


def _document_metadata(document: RAGFlowDocument | AsyncDocument) -> dict[str, Any]:
    """A RAGFlow document's own metadata plus its ``ragflow_`` provenance keys."""
    return document_metadata(document)


def _chunk_document(chunk: Chunk, document_meta: Mapping[str, Any]) -> LIDocument:
    record = chunk_to_record(chunk, document_meta=dict(document_meta))
    metadata = {k: v for k, v in record.metadata.items() if v is not None}
    for key in (DOCUMENT_ID_KEY, DOCUMENT_NAME_KEY, DATASET_ID_KEY):
        if not metadata.get(key):  # listed chunks may leave these blank
            metadata[key] = document_meta.get(key)
    for key in SCORE_KEYS:
        metadata.pop(key, None)  # a listed chunk has no search score
    document = LIDocument(id_=record.id, text=record.text, metadata=metadata)
    return _with_exclusions(document, source_of(metadata))


def _whole_document(
    document_id: str, texts: list[str], metadata: dict[str, Any], separator: str
) -> LIDocument:
    text = separator.join(t for t in texts if t)
    metadata = {**metadata, CHUNK_COUNT_KEY: len(texts)}
    document = LIDocument(id_=document_id, text=text, metadata=metadata)
    inserted = source_of(metadata) if metadata.get(REF_DOC_ID_KEY) else None
    return _with_exclusions(document, inserted)


def _with_exclusions(document: LIDocument, source: RelatedNodeInfo | None) -> LIDocument:
    """Hide the provenance keys from LLM and embeddings; link ``source`` (``ref_doc_id``)."""
    metadata, hidden_llm, hidden_embed = exclusions(document.metadata)
    document.metadata = metadata
    document.excluded_llm_metadata_keys = hidden_llm
    document.excluded_embed_metadata_keys = hidden_embed
    if source is not None:
        document.relationships[NodeRelationship.SOURCE] = source
    return document
