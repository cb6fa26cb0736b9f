"""Framework-neutral view of a retrieved chunk, shared by the LangChain and LlamaIndex adapters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .models import Chunk

__all__ = ["METADATA_KEYS", "ChunkRecord", "chunk_to_record"]

METADATA_KEYS = (
    "document_id",
    "document_name",
    "dataset_id",
    "similarity",
    "vector_similarity",
    "term_similarity",
    "positions",
    "image_id",
    "important_keywords",
    "highlight",
)


@dataclass(frozen=True)
class ChunkRecord:
    """``text`` and ``metadata`` of one chunk, with its ``id`` and ``score`` (= similarity)."""

    id: str
    text: str
    score: float | None
    metadata: dict[str, Any] = field(default_factory=dict)


def chunk_to_record(chunk: Chunk, *, document_meta: Mapping[str, Any] | None = None) -> ChunkRecord:
    """Map a chunk to a record; metadata holds :data:`METADATA_KEYS` (``None`` values dropped,
    empty ``image_id``/``highlight`` dropped) plus the document's own metadata (``document_meta``
    or the chunk's ``document_metadata``), which never overrides the chunk keys."""
    metadata: dict[str, Any] = {}
    own = document_meta if document_meta is not None else (chunk.document_metadata or {})
    for key, value in dict(own).items():
        metadata[str(key)] = value
    for key in METADATA_KEYS:
        value = getattr(chunk, key, None)
        if value is None or (key in ("image_id", "highlight") and value == ""):
            metadata.pop(key, None) if key in metadata and value is None else None
            continue
        metadata[key] = list(value) if isinstance(value, (list, tuple)) else value
    return ChunkRecord(id=chunk.id, text=chunk.content, score=chunk.similarity, metadata=metadata)
