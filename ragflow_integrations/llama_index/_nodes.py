"""RAGFlow chunks as LlamaIndex nodes (on top of the shared ``ragflow_integrations.mapping``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from llama_index.core.schema import NodeRelationship, NodeWithScore, RelatedNodeInfo, TextNode

from ragflow_integrations import Chunk
from ragflow_integrations.mapping import chunk_to_record

#: Metadata keys kept on nodes for provenance but hidden from the LLM prompt and the embedding text.
NOISY_METADATA_KEYS: tuple[str, ...] = (
    "positions",
    "image_id",
    "similarity",
    "vector_similarity",
    "term_similarity",
    "highlight",
    "important_keywords",
    "dataset_id",
    "document_id",
    "chunk_id",
    "ref_doc_id",
    "ref_doc_hash",
)


def chunk_to_node(chunk: Chunk, *, document_meta: Mapping[str, Any] | None = None) -> NodeWithScore:
    """One retrieved or listed chunk as a scored ``TextNode`` linked to its source document."""
    record = chunk_to_record(chunk, document_meta=dict(document_meta) if document_meta else None)
    metadata = dict(record.metadata)
    node = TextNode(
        id_=record.id,
        text=record.text,
        metadata=metadata,
        excluded_llm_metadata_keys=[k for k in NOISY_METADATA_KEYS if k in metadata],
        excluded_embed_metadata_keys=[k for k in NOISY_METADATA_KEYS if k in metadata],
    )
    document_id = metadata.get("document_id")
    if document_id:
        source_meta = {
            k: metadata[k] for k in ("document_name", "dataset_id") if metadata.get(k) is not None
        }
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(
            node_id=str(document_id), metadata=source_meta
        )
    return NodeWithScore(node=node, score=record.score)


def chunks_to_nodes(chunks: Iterable[Chunk]) -> list[NodeWithScore]:
    """Several chunks (a retrieval result or a chat reference) as scored nodes, order kept."""
    return [chunk_to_node(chunk) for chunk in chunks]


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
