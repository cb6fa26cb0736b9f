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


#: ``meta_fields`` keys carrying a ``Document``'s own ``excluded_llm_metadata_keys`` /
#: ``excluded_embed_metadata_keys`` (stored by ``RAGFlowIndex``; restored on nodes, then removed).
EXCLUDED_LLM_KEY = "excluded_llm_metadata_keys"
EXCLUDED_EMBED_KEY = "excluded_embed_metadata_keys"


def exclusions(
    metadata: dict[str, Any], *extra_noisy: str
) -> tuple[dict[str, Any], list[str], list[str]]:
    """``metadata`` without the stored exclusion lists, and the keys to hide from LLM / embeddings.

    The noisy provenance keys plus whatever the original ``Document`` excluded, kept to the keys
    actually present.
    """
    metadata = dict(metadata)
    stored_llm = _key_list(metadata.pop(EXCLUDED_LLM_KEY, None))
    stored_embed = _key_list(metadata.pop(EXCLUDED_EMBED_KEY, None))
    noisy = [*NOISY_METADATA_KEYS, *extra_noisy]

    def present(keys: list[str]) -> list[str]:
        return [k for k in dict.fromkeys(keys) if k in metadata]

    return metadata, present([*noisy, *stored_llm]), present([*noisy, *stored_embed])


def _key_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if isinstance(value, str) and value else []


def chunk_to_node(chunk: Chunk, *, document_meta: Mapping[str, Any] | None = None) -> NodeWithScore:
    """One retrieved or listed chunk as a scored ``TextNode`` linked to its source document."""
    record = chunk_to_record(chunk, document_meta=dict(document_meta) if document_meta else None)
    metadata, hidden_llm, hidden_embed = exclusions(dict(record.metadata))
    node = TextNode(
        id_=record.id,
        text=record.text,
        metadata=metadata,
        excluded_llm_metadata_keys=hidden_llm,
        excluded_embed_metadata_keys=hidden_embed,
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
