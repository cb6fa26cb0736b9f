"""RAGFlow chunks as LlamaIndex nodes (on top of the shared ``ragflow_integrations.mapping``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from llama_index.core.schema import NodeRelationship, NodeWithScore, RelatedNodeInfo, TextNode

from ragflow_integrations import Chunk
from ragflow_integrations.mapping import (
    DATASET_ID_KEY,
    DOCUMENT_ID_KEY,
    DOCUMENT_NAME_KEY,
    EXCLUDED_EMBED_KEY,
    EXCLUDED_LLM_KEY,
    PREFIX,
    REF_DOC_ID_KEY,
    ChunkRecord,
    chunk_to_record,
    collapse_copies,
)

VISIBLE_KEYS: tuple[str, ...] = (DOCUMENT_NAME_KEY,)
"""The package's metadata keys shown to the LLM and embedded (every other ``ragflow_`` key is
provenance, hidden from the LLM prompt and from embeddings)."""


def exclusions(
    metadata: dict[str, Any], *extra_noisy: str
) -> tuple[dict[str, Any], list[str], list[str]]:
    """``metadata`` without the stored exclusion lists, and the keys to hide from LLM / embeddings.

    The package's provenance keys plus whatever the original ``Document`` excluded, kept to the
    keys actually present.
    """
    metadata = dict(metadata)
    stored_llm = _key_list(metadata.pop(EXCLUDED_LLM_KEY, None))
    stored_embed = _key_list(metadata.pop(EXCLUDED_EMBED_KEY, None))
    noisy = [k for k in metadata if k.startswith(PREFIX) and k not in VISIBLE_KEYS]
    noisy += extra_noisy

    def present(keys: list[str]) -> list[str]:
        return [k for k in dict.fromkeys(keys) if k in metadata]

    return metadata, present([*noisy, *stored_llm]), present([*noisy, *stored_embed])


def _key_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if isinstance(value, str) and value else []


def source_of(metadata: Mapping[str, Any]) -> RelatedNodeInfo | None:
    """The ``SOURCE`` relationship of a chunk or document: the ``Document.id_`` it was inserted
    with (``ragflow_ref_doc_id``), else its RAGFlow document id; None when neither is known."""
    source_id = metadata.get(REF_DOC_ID_KEY) or metadata.get(DOCUMENT_ID_KEY)
    if not source_id:
        return None
    source_meta = {
        k: metadata[k]
        for k in (DOCUMENT_ID_KEY, DOCUMENT_NAME_KEY, DATASET_ID_KEY)
        if metadata.get(k) is not None
    }
    return RelatedNodeInfo(node_id=str(source_id), metadata=source_meta)


def record_to_node(record: ChunkRecord) -> NodeWithScore:
    """One chunk record as a scored ``TextNode`` linked to its source document."""
    metadata, hidden_llm, hidden_embed = exclusions(dict(record.metadata))
    node = TextNode(
        id_=record.id,
        text=record.text,
        metadata=metadata,
        excluded_llm_metadata_keys=hidden_llm,
        excluded_embed_metadata_keys=hidden_embed,
    )
    source = source_of(metadata)
    if source is not None:
        node.relationships[NodeRelationship.SOURCE] = source
    return NodeWithScore(node=node, score=record.score)


def chunk_to_node(chunk: Chunk, *, document_meta: Mapping[str, Any] | None = None) -> NodeWithScore:
    """One retrieved or listed chunk as a scored ``TextNode`` linked to its source document."""
    meta = dict(document_meta) if document_meta else None
    return record_to_node(chunk_to_record(chunk, document_meta=meta))


def chunks_to_nodes(chunks: Iterable[Chunk]) -> list[NodeWithScore]:
    """Several chunks (a retrieval result or a chat reference) as scored nodes, order kept.

    Chunks of older copies of one ``ref_doc_id`` (left by writers in several processes) are left
    out: only the newest copy's remain.
    """
    records = collapse_copies([chunk_to_record(chunk) for chunk in chunks])
    return [record_to_node(record) for record in records]


def chunks_to_reference_dicts(chunks: Iterable[Chunk]) -> list[dict[str, Any]]:
    """Chunks as JSON-ready dicts (``id``, ``text``, ``score``, ``metadata``) for responses."""
    references = []
    for chunk in chunks:
        record = chunk_to_record(chunk)
        references.append(
            {
                "id": record.id,
                "text": record.text,
                "score": record.score,
                "metadata": dict(record.metadata),
            }
        )
    return references
