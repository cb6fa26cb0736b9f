"""Framework-neutral metadata of stored documents and retrieved chunks, shared by both adapters.

Metadata stays flat. The user's keys come back exactly as stored; every value the package adds or
stores for itself lives under the reserved prefix ``ragflow_`` (:data:`PREFIX`), which user
metadata written through the package may not use (:func:`stored_meta_fields` refuses it):

* read from RAGFlow: ``ragflow_chunk_id``, ``ragflow_document_id``, ``ragflow_document_name``,
  ``ragflow_dataset_id``, ``ragflow_similarity``, ``ragflow_vector_similarity``,
  ``ragflow_term_similarity``, ``ragflow_positions``, ``ragflow_image_id``,
  ``ragflow_important_keywords``, ``ragflow_highlight`` (chunks), ``ragflow_chunk_count``
  (whole documents);
* stored in ``meta_fields`` by the adapters: ``ragflow_langchain_id`` (the LangChain caller id),
  ``ragflow_ref_doc_id`` and ``ragflow_ref_doc_hash`` (LlamaIndex ``Document.id_`` and
  ``Document.hash``), ``ragflow_excluded_llm_metadata_keys`` /
  ``ragflow_excluded_embed_metadata_keys``, and ``ragflow_written_at`` (when that copy was
  written; the newest copy of one id wins, see :func:`copy_rank`).

Documents stored by versions before the prefix (``langchain_id``, ``ref_doc_id``, ... and no
``ragflow_`` key at all) are read as if stored under the new names (:data:`LEGACY_KEYS`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragflow_integrations import Chunk
from ragflow_integrations.ingest import to_meta_fields

__all__ = [
    "CALLER_ID_KEYS",
    "CHUNK_KEYS",
    "LEGACY_KEYS",
    "PREFIX",
    "ChunkRecord",
    "caller_id",
    "chunk_to_record",
    "collapse_copies",
    "copy_rank",
    "document_metadata",
    "split_stored",
    "stored_meta_fields",
    "written_at",
]

PREFIX = "ragflow_"
"""Reserved for the package's own metadata keys; user keys may not start with it."""

CHUNK_ID_KEY = "ragflow_chunk_id"
DOCUMENT_ID_KEY = "ragflow_document_id"
DOCUMENT_NAME_KEY = "ragflow_document_name"
DATASET_ID_KEY = "ragflow_dataset_id"
SIMILARITY_KEY = "ragflow_similarity"
VECTOR_SIMILARITY_KEY = "ragflow_vector_similarity"
TERM_SIMILARITY_KEY = "ragflow_term_similarity"
HIGHLIGHT_KEY = "ragflow_highlight"
CHUNK_COUNT_KEY = "ragflow_chunk_count"
SCORE_KEYS = (SIMILARITY_KEY, VECTOR_SIMILARITY_KEY, TERM_SIMILARITY_KEY, HIGHLIGHT_KEY)

LANGCHAIN_ID_KEY = "ragflow_langchain_id"
REF_DOC_ID_KEY = "ragflow_ref_doc_id"
REF_DOC_HASH_KEY = "ragflow_ref_doc_hash"
EXCLUDED_LLM_KEY = "ragflow_excluded_llm_metadata_keys"
EXCLUDED_EMBED_KEY = "ragflow_excluded_embed_metadata_keys"
WRITTEN_AT_KEY = "ragflow_written_at"

CALLER_ID_KEYS = (LANGCHAIN_ID_KEY, REF_DOC_ID_KEY)
"""The keys under which the adapters store the id their caller gave a document."""

CHUNK_KEYS: dict[str, str] = {
    "id": CHUNK_ID_KEY,
    "document_id": DOCUMENT_ID_KEY,
    "document_name": DOCUMENT_NAME_KEY,
    "dataset_id": DATASET_ID_KEY,
    "similarity": SIMILARITY_KEY,
    "vector_similarity": VECTOR_SIMILARITY_KEY,
    "term_similarity": TERM_SIMILARITY_KEY,
    "positions": "ragflow_positions",
    "image_id": "ragflow_image_id",
    "important_keywords": "ragflow_important_keywords",
    "highlight": HIGHLIGHT_KEY,
}
"""``Chunk`` attribute -> metadata key of every value read from a chunk."""

LEGACY_KEYS: dict[str, str] = {
    "langchain_id": LANGCHAIN_ID_KEY,
    "ref_doc_id": REF_DOC_ID_KEY,
    "ref_doc_hash": REF_DOC_HASH_KEY,
    "excluded_llm_metadata_keys": EXCLUDED_LLM_KEY,
    "excluded_embed_metadata_keys": EXCLUDED_EMBED_KEY,
}
"""Keys stored by versions before the ``ragflow_`` prefix -> their names now."""

_LEGACY_MARKERS = ("langchain_id", "ref_doc_id")


@dataclass(frozen=True)
class ChunkRecord:
    """``text`` and ``metadata`` of one chunk, with its ``id`` and ``score`` (= similarity)."""

    id: str
    text: str
    score: float | None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def document_id(self) -> str | None:
        """The RAGFlow document the chunk belongs to."""
        value = self.metadata.get(DOCUMENT_ID_KEY)
        return str(value) if value else None

    @property
    def document_name(self) -> str | None:
        value = self.metadata.get(DOCUMENT_NAME_KEY)
        return str(value) if value else None


# ----- writing ------------------------------------------------------------------------------------


def reserved_keys(metadata: Mapping[Any, Any]) -> list[str]:
    """The keys of ``metadata`` that use the reserved prefix."""
    return [str(key) for key in metadata if str(key).startswith(PREFIX)]


def stored_meta_fields(
    metadata: Mapping[Any, Any], package: Mapping[str, Any], *, what: str = "document"
) -> dict[str, Any]:
    """The ``meta_fields`` to store: the user's ``metadata`` (see ``to_meta_fields``) plus the
    package's own ``package`` values (every key starting with :data:`PREFIX`).

    ``ValueError`` when a user key starts with the reserved prefix: it would be mistaken for (or
    overwrite) a value of the package when read back.
    """
    clashing = reserved_keys(metadata)
    if clashing:
        raise ValueError(
            f"{what} metadata key(s) {clashing} start with {PREFIX!r}, the prefix reserved for "
            "the values ragflow_integrations stores and returns itself (document id and name, "
            "scores, the id you gave the document, ...): rename them (nothing was uploaded)"
        )
    fields = to_meta_fields(metadata)
    fields.update(package)
    return fields


def written_at() -> str:
    """A write stamp (UTC, nanoseconds) that sorts as text: ``20260102T030405.123456789Z``."""
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


# ----- reading ------------------------------------------------------------------------------------


def split_stored(meta_fields: Mapping[Any, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A document's ``meta_fields`` as (user keys, package keys).

    A document with no ``ragflow_`` key but ``langchain_id`` or ``ref_doc_id`` was stored by an
    earlier version: its :data:`LEGACY_KEYS` count as the package's, under their new names.
    """
    user: dict[str, Any] = {}
    package: dict[str, Any] = {}
    meta = {str(key): value for key, value in dict(meta_fields or {}).items()}
    legacy = not reserved_keys(meta) and any(key in meta for key in _LEGACY_MARKERS)
    for key, value in meta.items():
        if key.startswith(PREFIX):
            package[key] = value
        elif legacy and key in LEGACY_KEYS:
            package[LEGACY_KEYS[key]] = value
        else:
            user[key] = value
    return user, package


def caller_id(meta_fields: Mapping[Any, Any] | None, key: str) -> str | None:
    """The caller id a document was stored under (``key``, or its legacy name), or None."""
    _, package = split_stored(meta_fields)
    value = package.get(key)
    return None if value is None or value == "" else str(value)


def copy_rank(meta_fields: Mapping[Any, Any] | None, document_id: str) -> tuple[str, str]:
    """Orders copies of one caller id: the greatest is the newest write (ties, such as copies
    written before stamps existed, go to the greatest RAGFlow document id)."""
    _, package = split_stored(meta_fields)
    return str(package.get(WRITTEN_AT_KEY) or ""), str(document_id)


def _metadata(own: Mapping[Any, Any] | None) -> dict[str, Any]:
    user, package = split_stored(own)
    return {**user, **package}


def chunk_text(content: str | None) -> str:
    """A chunk's text for a framework document: without the line breaks RAGFlow's chunker leaves
    at its edges (every chunk of a text file starts with one), the rest exactly as stored."""
    return (content or "").strip("\r\n")


def chunk_to_record(chunk: Chunk, *, document_meta: Mapping[str, Any] | None = None) -> ChunkRecord:
    """Map a chunk to a record.

    ``metadata`` holds the document's own metadata (``document_meta`` or the chunk's
    ``document_metadata``: user keys as stored, package keys as in :func:`split_stored`) and the
    chunk's values under :data:`CHUNK_KEYS` (``None`` values and an empty image id or highlight
    left out).
    """
    own = document_meta if document_meta is not None else chunk.document_metadata
    metadata = _metadata(own)
    for attribute, key in CHUNK_KEYS.items():
        value = getattr(chunk, attribute, None)
        if value is None or (value == "" and attribute in ("id", "image_id", "highlight")):
            continue
        metadata[key] = list(value) if isinstance(value, list | tuple) else value
    text = chunk_text(chunk.content)
    return ChunkRecord(id=chunk.id, text=text, score=chunk.similarity, metadata=metadata)


def document_metadata(document: Any) -> dict[str, Any]:
    """A RAGFlow document's metadata: its own (as in :func:`split_stored`) plus its RAGFlow id,
    name and dataset id."""
    metadata = _metadata(document.meta_fields)
    metadata.update(
        {
            DOCUMENT_ID_KEY: document.id,
            DOCUMENT_NAME_KEY: document.name,
            DATASET_ID_KEY: document.dataset_id,
        }
    )
    return metadata


def record_caller(
    metadata: Mapping[str, Any], keys: Sequence[str] = CALLER_ID_KEYS
) -> tuple[str, str] | None:
    """``(key, caller id)`` of a record stored through an adapter, or None."""
    for key in keys:
        value = metadata.get(key)
        if value not in (None, ""):
            return key, str(value)
    return None


def collapse_copies(
    records: Sequence[ChunkRecord], keys: Sequence[str] = CALLER_ID_KEYS
) -> list[ChunkRecord]:
    """``records`` without the chunks of older copies of one caller id (order kept).

    Several RAGFlow documents can hold one caller id when processes wrote it at the same time;
    only the newest copy among those present (:func:`copy_rank`) is kept, so a search never
    returns one document twice. Records without a caller id are all kept.
    """
    newest: dict[tuple[str, str], tuple[str, str]] = {}
    for record in records:
        caller = record_caller(record.metadata, keys)
        if caller is None or not record.document_id:
            continue
        rank = (str(record.metadata.get(WRITTEN_AT_KEY) or ""), record.document_id)
        if caller not in newest or rank > newest[caller]:
            newest[caller] = rank
    kept = []
    for record in records:
        caller = record_caller(record.metadata, keys)
        if caller is not None and caller in newest and newest[caller][1] != record.document_id:
            continue
        kept.append(record)
    return kept


def newest_copy(documents: Iterable[Any]) -> Any:
    """The copy to read among RAGFlow documents of one caller id: a parsed one first (a failed or
    unfinished re-upload leaves the last good copy readable), then the newest (:func:`copy_rank`).
    """
    return max(documents, key=lambda d: (d.run == "DONE", copy_rank(d.meta_fields, str(d.id))))
