"""Conversions between RAGFlow objects and LangChain documents (private)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.documents import Document

from ragflow_integrations.mapping import (
    CALLER_ID_KEYS,
    HIGHLIGHT_KEY,
    chunk_to_record,
    collapse_copies,
)


def chunks_to_documents(
    chunks: Sequence[Any], *, highlight: bool = False, caller_keys: Sequence[str] = CALLER_ID_KEYS
) -> list[Document]:
    """Retrieved chunks as ``Document``s whose id is the chunk id, order kept.

    Chunks of older copies of one caller id are left out (see
    :func:`~ragflow_integrations.mapping.collapse_copies`). ``highlight`` keeps the
    ``ragflow_highlight`` metadata key (dropped when not asked for).
    """
    records = collapse_copies([chunk_to_record(chunk) for chunk in chunks], keys=caller_keys)
    documents = []
    for record in records:
        metadata = dict(record.metadata)
        if not highlight or metadata.get(HIGHLIGHT_KEY) in (None, ""):
            metadata.pop(HIGHLIGHT_KEY, None)
        documents.append(Document(id=record.id, page_content=record.text, metadata=metadata))
    return documents


def effective_condition(condition: dict[str, Any] | None) -> dict[str, Any] | None:
    """``condition`` or None when it has no conditions.

    RAGFlow answers a ``metadata_condition`` with an empty ``conditions`` list with *no* results,
    while callers building filters mean "no filter"; such a condition is not sent.
    """
    if not condition or not condition.get("conditions"):
        return None
    return condition
